// Test-only stream encoder, written from docs/stream.md on its own (it
// shares no code with web/stream.js, so a round trip checks both against
// the document, not one against itself). Slow and simple on purpose:
// Maps, BigInt arithmetic for the prediction, an array of bytes.

const MAX_FRAMES = 1n << 20n;

// ---- the view hash, word by word --------------------------------------
function rotl(x, r) {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}
// one entity's words folded into one, with BigInt arithmetic (independent
// of stream.js's Math.imul version)
function fold(words) {
  const M = 0xffffffffn, K = 0x9e3779b1n;
  let x = BigInt(words[0] >>> 0);
  for (let k = 1; k < words.length; k++) x = (x * K + BigInt(words[k] >>> 0)) & M;
  x ^= x >> 15n;
  return Number(x);
}
function mix(h1, h2, x) {
  h1 = rotl(Number((BigInt((h1 ^ x) >>> 0) * 0x85ebca77n) & 0xffffffffn), 13);
  h2 = Number((BigInt((h2 + x) % 0x100000000) * 0xc2b2ae3dn) & 0xffffffffn);
  h2 = (h2 ^ (h2 >>> 16)) >>> 0;
  return [h1, h2];
}
function fmix(x) {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
/** The hash of a list of entities (sorted by slot) as a 16-hex string. */
export function entitiesHash(ents, dims) {
  let h = [0x6d797269, 0x61647630];
  for (const e of ents) {
    h = mix(h[0], h[1], fold([e.slot, e.gen, e.kind, e.color, ...e.q.slice(0, dims)]));
  }
  const n = ents.length;
  const h1 = fmix((h[0] ^ n) >>> 0);
  const h2 = fmix((h[1] ^ Math.imul(n, 0x27d4eb2f)) >>> 0);
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

// ---- writers --------------------------------------------------------------
class Bytes {
  constructor() { this.a = []; }
  u8(v) { this.a.push(v & 0xff); }
  u32(v) { for (let i = 0; i < 4; i++) this.a.push((v >>> (8 * i)) & 0xff); }
  u64(v) { for (let i = 0n; i < 8n; i++) this.a.push(Number((BigInt(v) >> (8n * i)) & 0xffn)); }
  varint(v) {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      this.a.push(b);
    } while (v > 0);
  }
  slots(list) { // ascending slots as gaps
    let prev = -1;
    for (const s of list) { this.varint(s - prev - 1); prev = s; }
  }
  bits() { return new Bits(this); }
}
class Bits {
  constructor(out) { this.out = out; this.cur = 0; this.n = 0; }
  put(v, w) {
    for (let i = 0; i < w; i++) {
      if (Math.floor(v / 2 ** i) % 2) this.cur |= 1 << this.n;
      if (++this.n === 8) this.flush();
    }
  }
  flush() { this.out.a.push(this.cur); this.cur = 0; this.n = 0; }
  end() { if (this.n > 0) this.flush(); }
}

function zigzag(r) { return r >= 0 ? 2 * r : -2 * r - 1; }
function bitLength(z) { let w = 0; while (z >= 2 ** w) w++; return w; }
function floorDiv(a, b) { // BigInt floor division
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/**
 * An encoder. opts: dims, bits, kinds (bool: send kinds), color (bool),
 * history (views kept, default 4), extraWidth (added to each block's width,
 * to exercise wide blocks; capped at 26).
 * An entity is {slot, gen, kind, color, q: [..dims]}.
 */
export class TestEncoder {
  constructor(opts) {
    this.dims = opts.dims;
    this.bits = opts.bits;
    this.kinds = !!opts.kinds;
    this.color = !!opts.color;
    this.history = opts.history ?? 4;
    this.extraWidth = opts.extraWidth ?? 0;
    this.seq = 0;
    this.views = new Map(); // seq -> {frame, span, ents: Map slot -> entity with dq}
  }

  /** Captures a view: ents sorted or not, frame a number or BigInt. */
  capture(ents, frame) {
    const sorted = [...ents].sort((a, b) => a.slot - b.slot).map((e) => ({
      slot: e.slot, gen: e.gen, kind: this.kinds ? e.kind : 0, color: this.color ? e.color >>> 0 : 0,
      q: e.q.slice(0, this.dims), dq: new Array(this.dims).fill(0),
    }));
    this.seq++;
    this.views.set(this.seq, { seq: this.seq, frame: BigInt(frame), span: 0n, ents: sorted });
    while (this.views.size > this.history + 1) this.views.delete(this.views.keys().next().value);
    return this.seq;
  }

  holds(seq) { return this.views.has(seq); }

  /** Codes the newest view against base (0 or not held: a keyframe).
   * Returns {bytes: Uint8Array, used, hash}. */
  encode(baseSeq = 0) {
    const view = this.views.get(this.seq);
    const base = baseSeq && baseSeq !== this.seq ? this.views.get(baseSeq) : null;
    const used = base ? baseSeq : 0;
    const dims = this.dims, qmax = 2 ** this.bits - 1;
    const baseBySlot = new Map((base ? base.ents : []).map((e) => [e.slot, e]));
    const newBySlot = new Map(view.ents.map((e) => [e.slot, e]));
    const isSurvivor = (b) => newBySlot.has(b.slot) && newBySlot.get(b.slot).gen === b.gen;
    const baseEnts = base ? base.ents : [];
    const destroyed = baseEnts.filter((b) => !isSurvivor(b));
    const survivors = baseEnts.filter(isSurvivor);
    const spawned = view.ents.filter((e) => { const b = baseBySlot.get(e.slot); return !b || b.gen !== e.gen; });
    const changed = survivors.filter((b) => { const e = newBySlot.get(b.slot); return e.kind !== b.kind || e.color !== b.color; });

    let f = base ? BigInt.asUintN(64, view.frame - base.frame) : 0n;
    if (f > MAX_FRAMES) f = MAX_FRAMES;
    const out = new Bytes();
    out.u8(base ? 0x03 : 0x02); out.u8(1); out.u8(dims); out.u8(this.bits);
    out.u8((this.kinds ? 1 : 0) | (this.color ? 2 : 0)); out.u8(0); out.u8(0); out.u8(0);
    out.u32(this.seq); out.u32(used); out.u64(view.frame); out.u32(view.ents.length);
    const hash = entitiesHash(view.ents, dims);
    out.u64(BigInt('0x' + hash));

    out.varint(destroyed.length);
    out.slots(destroyed.map((e) => e.slot));
    out.varint(spawned.length);
    let prev = -1;
    for (const e of spawned) {
      out.varint(e.slot - prev - 1); prev = e.slot;
      out.varint(e.gen);
      if (this.kinds) out.u8(e.kind);
      if (this.color) out.u32(e.color);
    }
    let bits = out.bits();
    for (const e of spawned) for (const v of e.q) bits.put(v, this.bits);
    bits.end();
    out.varint(changed.length);
    prev = -1;
    for (const b of changed) {
      const e = newBySlot.get(b.slot);
      out.varint(e.slot - prev - 1); prev = e.slot;
      if (this.kinds) out.u8(e.kind);
      if (this.color) out.u32(e.color);
    }

    // Residuals against the prediction, in blocks of 32 survivors.
    const residuals = survivors.map((b) => {
      const e = newBySlot.get(b.slot);
      return e.q.map((qn, a) => {
        let pred;
        if (base.span === 0n || f === base.span) pred = BigInt(b.q[a] + b.dq[a]);
        else pred = BigInt(b.q[a]) + floorDiv(BigInt(b.dq[a]) * f, base.span);
        pred = Number(pred < 0n ? 0n : pred > BigInt(qmax) ? BigInt(qmax) : pred);
        return zigzag(qn - pred);
      });
    });
    bits = out.bits();
    for (let i = 0; i < residuals.length; i += 32) {
      const block = residuals.slice(i, i + 32);
      let w = Math.max(0, ...block.flat().map(bitLength));
      if (w > 26) throw new Error('residual wider than 26 bits');
      w = Math.min(26, w + this.extraWidth);
      bits.put(w, 5);
      for (const zs of block) for (const z of zs) bits.put(z, w);
    }
    bits.end();

    // The coded view's steps and span now follow this base.
    for (const e of view.ents) {
      const b = baseBySlot.get(e.slot);
      e.dq = b && b.gen === e.gen ? e.q.map((qn, a) => qn - b.q[a]) : new Array(dims).fill(0);
    }
    view.span = f;
    return { bytes: Uint8Array.from(out.a), used, hash };
  }
}
