// myriad live view: the stream decoder (docs/stream.md), for browsers and
// Node 20 alike (no DOM). A StreamView keeps the newest views it applied as
// possible baselines and rebuilds each new view from a keyframe or a delta.
//
// A view is stored densely in ascending slot order: entity i of a view has
// slots[i], gens[i], kinds[i], colors[i], q[i*dims + a] and dq[i*dims + a].
// Dense, sorted arrays make every pass the format needs (the survivors in
// slot order, the hash in slot order, merging the spawned in, drawing) one
// linear walk with no holes, and memory follows the entity count, not the
// highest slot. Committed views are never written again, so a delta that
// spawns, destroys or changes nothing shares those arrays with its baseline
// instead of copying them.

export const MSG_HELLO = 0x01;
export const MSG_KEYFRAME = 0x02;
export const MSG_DELTA = 0x03;
export const MSG_FIGURES = 0x04;
export const MSG_REPLY = 0x05;
export const MSG_ACK = 0x10;
export const MSG_RATE = 0x11;
export const MSG_RESYNC = 0x12;
export const MSG_CONTROL = 0x13;

export const CONTROL_PAUSE = 1;
export const CONTROL_RESUME = 2;
export const CONTROL_STEP = 3;
export const CONTROL_CHUNK = 4;

export const STREAM_VERSION = 1;
const HEADER_BYTES = 36;
const FLAG_KINDS = 1;
const FLAG_COLOR = 2;
const MAX_FRAMES = 2 ** 20; // the prediction's frame distance is capped here
const BLOCK = 32; // survivors per residual block
const MAX_WIDTH = 26;

/** An error about a message; .code is 'ECORRUPT' or 'ENOTFOUND'. */
export class StreamError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'StreamError';
    this.code = code;
  }
}

function corrupt(what) {
  return new StreamError('ECORRUPT', `corrupt stream message: ${what}`);
}

// ---- the view hash -------------------------------------------------------

const H1_SEED = 0x6d797269;
const H2_SEED = 0x61647630;

function fmix32(x) {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function hex32(x) {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/** The view hash of dense view arrays as [h1, h2] (two uint32 lanes). */
export function hashView(count, dims, slots, gens, kinds, colors, q) {
  const K = 0x9e3779b1;
  let h1 = H1_SEED;
  let h2 = H2_SEED;
  for (let i = 0; i < count; i++) {
    // Each entity folds into one word, then that word goes through both
    // lanes (docs/stream.md).
    let x = slots[i];
    x = (Math.imul(x, K) + gens[i]) | 0;
    x = (Math.imul(x, K) + kinds[i]) | 0;
    x = (Math.imul(x, K) + colors[i]) | 0;
    const base = i * dims;
    for (let a = 0; a < dims; a++) x = (Math.imul(x, K) + q[base + a]) | 0;
    x ^= x >>> 15;
    h1 = Math.imul(h1 ^ x, 0x85ebca77);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul((h2 + x) | 0, 0xc2b2ae3d);
    h2 ^= h2 >>> 16;
  }
  h1 ^= count;
  h2 ^= Math.imul(count, 0x27d4eb2f);
  return [fmix32(h1), fmix32(h2)];
}

/** 16 lowercase hex digits of a hash given as [h1, h2]. */
export function hashHex(h) {
  return hex32(h[0]) + hex32(h[1]);
}

// ---- byte and bit readers -------------------------------------------------

// Reads the message's byte-aligned parts; every read checks the end.
class ByteReader {
  constructor(bytes, pos) {
    this.bytes = bytes;
    this.pos = pos;
  }

  remaining() {
    return this.bytes.length - this.pos;
  }

  u8(what) {
    if (this.pos >= this.bytes.length) throw corrupt(`truncated in ${what}`);
    return this.bytes[this.pos++];
  }

  u32(what) {
    if (this.pos + 4 > this.bytes.length) throw corrupt(`truncated in ${what}`);
    const b = this.bytes, p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  // Unsigned LEB128, at most 5 bytes, value below 2^32.
  varint(what) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw corrupt(`varint above 2^32 in ${what}`);
        return value;
      }
    }
    throw corrupt(`varint longer than 5 bytes in ${what}`);
  }

  // A count of list items that each take at least one byte: bounding it by
  // the bytes left stops a corrupt count from allocating gigabytes.
  listLength(what) {
    const n = this.varint(what);
    if (n > this.remaining()) throw corrupt(`${what} count ${n} exceeds the message`);
    return n;
  }

  // Ascending slots coded as gaps; returns the next slot after `prev`
  // (prev = -1 for the first).
  nextSlot(prev, what) {
    const slot = prev + 1 + this.varint(what);
    if (slot > 0xffffffff) throw corrupt(`slot beyond 2^32 in ${what}`);
    return slot;
  }
}

// Reads a bit stream: bit k is bit k%8 of byte k/8, values lowest bit first.
// The buffer holds at most 31 bits so every operation stays in int32.
class BitReader {
  constructor(bytes, pos) {
    this.bytes = bytes;
    this.pos = pos;
    this.acc = 0;
    this.nbits = 0;
  }

  // w <= 24 keeps the refilled buffer under 32 bits.
  readSmall(w) {
    while (this.nbits < w) {
      if (this.pos >= this.bytes.length) throw corrupt('truncated bit stream');
      this.acc |= this.bytes[this.pos++] << this.nbits;
      this.nbits += 8;
    }
    const v = w === 0 ? 0 : this.acc & ((1 << w) - 1);
    this.acc >>>= w;
    this.nbits -= w;
    return v >>> 0;
  }

  read(w) {
    if (w <= 24) return this.readSmall(w);
    const lo = this.readSmall(16);
    return lo + this.readSmall(w - 16) * 65536;
  }

  // Ends the stream: the padding must be zero bits; returns the byte offset
  // after it.
  finish(what) {
    if (this.nbits >= 8 || this.acc !== 0) throw corrupt(`non-zero padding after ${what}`);
    return this.pos;
  }
}

// ---- views ----------------------------------------------------------------

// One decoded view; its arrays are never written after it is committed.
class View {
  constructor(fields) {
    Object.assign(this, fields);
    this._positions = null;
  }
}

function emptyView(dims, bits) {
  return new View({
    seq: 0, frame: 0n, span: 0, dims, bits, count: 0,
    slots: new Uint32Array(0), gens: new Uint32Array(0), kinds: new Uint8Array(0),
    colors: new Uint32Array(0), q: new Uint32Array(0), dq: new Int32Array(0),
    hash: hashView(0, dims, null, null, null, null, null),
  });
}

function parseHeader(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('apply() takes a Uint8Array');
  if (bytes.length < HEADER_BYTES) throw corrupt(`${bytes.length} bytes is shorter than a header`);
  const type = bytes[0];
  if (type !== MSG_KEYFRAME && type !== MSG_DELTA) throw corrupt(`type 0x${type.toString(16)} is not a keyframe or a delta`);
  if (bytes[1] !== STREAM_VERSION) throw corrupt(`version ${bytes[1]} (this client reads ${STREAM_VERSION})`);
  const dims = bytes[2];
  const bits = bytes[3];
  if (dims !== 2 && dims !== 3) throw corrupt(`dims ${dims}`);
  if (bits < 1 || bits > 24) throw corrupt(`bits ${bits}`);
  const flags = bytes[4];
  if (flags & ~(FLAG_KINDS | FLAG_COLOR)) throw corrupt(`flags 0x${flags.toString(16)}`);
  if (bytes[5] | bytes[6] | bytes[7]) throw corrupt('reserved header bytes are not zero');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = {
    keyframe: type === MSG_KEYFRAME,
    dims, bits, flags,
    kinds: (flags & FLAG_KINDS) !== 0,
    color: (flags & FLAG_COLOR) !== 0,
    seq: dv.getUint32(8, true),
    base: dv.getUint32(12, true),
    frame: dv.getBigUint64(16, true),
    count: dv.getUint32(24, true),
    // The u64 hash is h1 * 2^32 + h2, so its low word is h2.
    hash: [dv.getUint32(32, true), dv.getUint32(28, true)],
  };
  if (header.seq === 0) throw corrupt('seq 0');
  if (header.keyframe && header.base !== 0) throw corrupt('a keyframe with a base');
  if (!header.keyframe && header.base === 0) throw corrupt('a delta without a base');
  return header;
}

// Frames between the baseline and the new view, as the C side's unsigned
// 64-bit difference capped at 2^20.
function frameDistance(frame, baseFrame) {
  const f = BigInt.asUintN(64, frame - baseFrame);
  return f > BigInt(MAX_FRAMES) ? MAX_FRAMES : Number(f);
}

// floor(a / b) for integers |a| < 2^53, b > 0, exact even where the double
// quotient rounds onto an integer.
function floorDiv(a, b) {
  let t = Math.floor(a / b);
  if (t * b > a) t -= 1;
  else if ((t + 1) * b <= a) t += 1;
  return t;
}

/**
 * The receiving side of a stream. Options: keep (views held as baselines,
 * default 8), kinds (true when the hello's kinds list is not empty), color
 * (the hello's color), box ([[lo...], [hi...]], for positions()). Or call
 * setHello(hello) with the parsed hello.
 */
export class StreamView {
  constructor(options = {}) {
    this.keep = options.keep ?? 8;
    if (!(this.keep >= 1 && this.keep <= 64)) throw new RangeError('keep must be 1..64');
    this.hasKinds = !!options.kinds;
    this.hasColor = !!options.color;
    this.box = options.box ?? null;
    this.views = new Map(); // seq -> View, in the order they were applied
    this.current = null;
    this.spare = []; // ArrayBuffers of forgotten views, for reuse
    this.sparePositions = null;
  }

  /** Takes the hello's kinds, color and box. (Messages carry their own
   * kinds and colour flags; these say what the page shows.) */
  setHello(hello) {
    this.hasKinds = Array.isArray(hello.kinds) && hello.kinds.length > 0;
    this.hasColor = !!hello.color;
    this.box = hello.box ?? null;
  }

  /** Whether view `seq` is held as a baseline. */
  holds(seq) {
    return this.views.has(seq);
  }

  /**
   * Applies a keyframe or a delta. Returns {seq, keyframe}. Throws a
   * StreamError (code 'ECORRUPT', or 'ENOTFOUND' for a delta whose base is
   * not held) and then leaves every view as it was.
   */
  apply(bytes) {
    const h = parseHeader(bytes);
    let base;
    if (h.keyframe) {
      base = emptyView(h.dims, h.bits);
    } else {
      base = this.views.get(h.base);
      if (!base) throw new StreamError('ENOTFOUND', `base not held: delta ${h.seq} is against view ${h.base}`);
      if (base.dims !== h.dims || base.bits !== h.bits || base.flags !== h.flags) {
        throw corrupt('dims, bits or flags differ from the base view');
      }
    }
    const view = this._decode(bytes, h, base);
    // A baseline in use is kept: views are forgotten least recently used
    // (applied or used as a base), so a sender still coding against an
    // old ack does not see it dropped by the views it sent meanwhile.
    if (!h.keyframe) {
      this.views.delete(h.base);
      this.views.set(h.base, base);
    }
    this._commit(view);
    return { seq: view.seq, keyframe: h.keyframe };
  }

  _commit(view) {
    const replaced = this.views.get(view.seq);
    this.views.delete(view.seq); // a resent seq becomes the newest again
    this.views.set(view.seq, view);
    if (replaced) this._recycle(replaced);
    while (this.views.size > this.keep) {
      const oldest = this.views.keys().next().value;
      this._recycle(this.views.get(oldest));
      this.views.delete(oldest);
    }
    // Only the newest view is drawn: its predecessor's positions go spare.
    if (this.current && this.current !== view && this.current._positions) {
      this.sparePositions = this.current._positions.buffer;
      this.current._positions = null;
    }
    this.current = view;
  }

  // A forgotten view's positions arrays (its own, never shared) are reused
  // for the next view: at a million entities that saves allocating and
  // collecting tens of megabytes per update.
  _recycle(view) {
    if (view.q.length) this.spare.push(view.q.buffer, view.dq.buffer);
    while (this.spare.length > 4) this.spare.shift();
  }

  // A zero-length-or-more array of n elements on a spare buffer when one is
  // big enough (its contents are stale: callers write every element).
  _take(Type, n) {
    const bytes = n * Type.BYTES_PER_ELEMENT;
    const i = this.spare.findIndex((b) => b.byteLength >= bytes);
    if (i < 0) return new Type(n);
    const [buffer] = this.spare.splice(i, 1);
    return new Type(buffer, 0, n);
  }

  // Decodes the message against `base` into a new View, or throws.
  _decode(bytes, h, base) {
    const { dims, bits } = h;
    // whether this message's entries carry a kind byte and a colour word
    this._kinds = h.kinds;
    this._color = h.color;
    const r = new ByteReader(bytes, HEADER_BYTES);

    // Destroyed: only slots, checked against the base during the merge.
    const nDestroyed = r.listLength('destroyed');
    if (h.keyframe && nDestroyed) throw corrupt('a keyframe destroys entities');
    if (nDestroyed > base.count) throw corrupt('more destroyed than the base holds');
    const destroyed = new Uint32Array(nDestroyed);
    for (let i = 0, prev = -1; i < nDestroyed; i++) prev = destroyed[i] = r.nextSlot(prev, 'destroyed');

    // The count is known now: check it before allocating the new view.
    const nSpawned = r.listLength('spawned');
    const count = base.count - nDestroyed + nSpawned;
    if (count !== h.count) throw corrupt(`count ${h.count} but the lists give ${count}`);

    const sp = this._readSpawned(r, nSpawned, dims, bits);
    const ch = this._readChanged(r, h.keyframe);

    const view = new View({
      seq: h.seq, frame: h.frame, dims, bits, count, flags: h.flags,
      span: h.keyframe ? 0 : frameDistance(h.frame, base.frame),
    });
    const bitsIn = new BitReader(bytes, r.pos);
    this._merge(view, base, destroyed, sp, ch, bitsIn);
    const end = bitsIn.finish('the moved residuals');
    if (end !== bytes.length) throw corrupt(`${bytes.length - end} bytes after the residuals`);

    view.hash = hashView(count, dims, view.slots, view.gens, view.kinds, view.colors, view.q);
    if (view.hash[0] !== h.hash[0] || view.hash[1] !== h.hash[1]) {
      throw corrupt(`view hash ${hashHex(view.hash)} but the message says ${hashHex(h.hash)}`);
    }
    return view;
  }

  // The spawned list (slot gap, varint gen, [u8 kind], [u32 color]) and then
  // its bit stream of quantised positions.
  _readSpawned(r, n, dims, bits) {
    const sp = {
      n, slots: new Uint32Array(n), gens: new Uint32Array(n),
      kinds: new Uint8Array(n), colors: new Uint32Array(n), q: new Uint32Array(n * dims),
    };
    for (let i = 0, prev = -1; i < n; i++) {
      prev = sp.slots[i] = r.nextSlot(prev, 'spawned');
      sp.gens[i] = r.varint('spawned gen');
      if (this._kinds) sp.kinds[i] = r.u8('spawned kind');
      if (this._color) sp.colors[i] = r.u32('spawned color');
    }
    const br = new BitReader(r.bytes, r.pos);
    for (let i = 0; i < n * dims; i++) sp.q[i] = br.read(bits);
    r.pos = br.finish('the spawned positions');
    return sp;
  }

  // The changed list: slot gap, [u8 kind], [u32 color].
  _readChanged(r, keyframe) {
    const n = r.listLength('changed');
    if (keyframe && n) throw corrupt('a keyframe changes entities');
    const ch = { n, slots: new Uint32Array(n), kinds: new Uint8Array(n), colors: new Uint32Array(n) };
    for (let i = 0, prev = -1; i < n; i++) {
      prev = ch.slots[i] = r.nextSlot(prev, 'changed');
      if (this._kinds) ch.kinds[i] = r.u8('changed kind');
      if (this._color) ch.colors[i] = r.u32('changed color');
    }
    return ch;
  }

  // Builds the new view in slot order from the base's survivors (moved by
  // their residuals, updated when changed) and the spawned entities.
  _merge(view, base, destroyed, sp, ch, br) {
    const take = (Type, n) => this._take(Type, n);
    const { dims, bits, count } = view;
    const qmax = 2 ** bits - 1;
    const reuseIds = destroyed.length === 0 && sp.n === 0 && base.count > 0;
    const reuseLooks = reuseIds && ch.n === 0;
    const slots = reuseIds ? base.slots : new Uint32Array(count);
    const gens = reuseIds ? base.gens : new Uint32Array(count);
    const kinds = reuseLooks ? base.kinds : new Uint8Array(count);
    const colors = reuseLooks ? base.colors : new Uint32Array(count);
    const q = take(Uint32Array, count * dims);
    const dq = take(Int32Array, count * dims);

    // The prediction: pred = q_b + dq_b * f / span(b), or + dq_b whole.
    const f = view.span;
    const wholeStep = base.span === 0 || f === base.span;
    const bq = base.q, bdq = base.dq, bslots = base.slots;

    let out = 0, di = 0, si = 0, ci = 0;
    let survivors = 0, width = 0;
    for (let bi = 0; bi <= base.count; bi++) {
      const slot = bi < base.count ? bslots[bi] : 0x100000000; // sentinel flushes the spawned
      if (di < destroyed.length && destroyed[di] < slot) throw corrupt(`destroyed slot ${destroyed[di]} is not in the base`);
      // Spawned entities come before this survivor in slot order.
      while (si < sp.n && sp.slots[si] < slot) {
        if (!reuseIds) { slots[out] = sp.slots[si]; gens[out] = sp.gens[si]; }
        kinds[out] = sp.kinds[si];
        colors[out] = sp.colors[si];
        for (let a = 0; a < dims; a++) {
          q[out * dims + a] = sp.q[si * dims + a];
          dq[out * dims + a] = 0; // spawned in this view: no step yet
        }
        out++; si++;
      }
      if (bi === base.count) break;
      if (di < destroyed.length && destroyed[di] === slot) { di++; continue; }
      if (si < sp.n && sp.slots[si] === slot) throw corrupt(`spawned slot ${slot} is held by a survivor`);

      // A survivor: its ids and looks, then its residuals.
      if (!reuseIds) { slots[out] = slot; gens[out] = base.gens[bi]; }
      if (!reuseLooks) { kinds[out] = base.kinds[bi]; colors[out] = base.colors[bi]; }
      if (ci < ch.n && ch.slots[ci] < slot) throw corrupt(`changed slot ${ch.slots[ci]} is not a survivor`);
      if (ci < ch.n && ch.slots[ci] === slot) {
        if (this._kinds) kinds[out] = ch.kinds[ci];
        if (this._color) colors[out] = ch.colors[ci];
        ci++;
      }
      if (survivors % BLOCK === 0) {
        width = br.readSmall(5);
        if (width > MAX_WIDTH) throw corrupt(`residual width ${width}`);
      }
      survivors++;
      for (let a = 0; a < dims; a++) {
        const b = bi * dims + a;
        let pred = wholeStep ? bq[b] + bdq[b] : bq[b] + floorDiv(bdq[b] * f, base.span);
        if (pred < 0) pred = 0; else if (pred > qmax) pred = qmax;
        const z = width === 0 ? 0 : br.read(width);
        const qn = pred + ((z >>> 1) ^ -(z & 1)); // un-zigzag (z < 2^26)
        if (qn < 0 || qn > qmax) throw corrupt(`position ${qn} outside ${bits} bits`);
        q[out * dims + a] = qn;
        dq[out * dims + a] = qn - bq[b];
      }
      out++;
    }
    if (ci < ch.n) throw corrupt(`changed slot ${ch.slots[ci]} is not a survivor`);
    if (di < destroyed.length) throw corrupt(`destroyed slot ${destroyed[di]} is not in the base`);
    Object.assign(view, { slots, gens, kinds, colors, q, dq });
  }

  // ---- accessors of the newest view --------------------------------------

  get seq() { return this.current ? this.current.seq : 0; }
  get frame() { return this.current ? this.current.frame : 0n; }
  get count() { return this.current ? this.current.count : 0; }
  get dims() { return this.current ? this.current.dims : 0; }
  get bits() { return this.current ? this.current.bits : 0; }
  /** Frames between the newest view and its baseline (0 for a keyframe). */
  get span() { return this.current ? this.current.span : 0; }

  /** The newest view's hash: 16 lowercase hex digits. */
  viewHash() {
    return this.current ? hashHex(this.current.hash) : hashHex(hashView(0, 0));
  }

  /** Slots, generations, kinds, colours and quantised positions (count*dims)
   * of the newest view, in slot order. Read only: they may be shared with
   * other views, and quantised() is reused once its view is forgotten. */
  slots() { return this.current?.slots ?? new Uint32Array(0); }
  gens() { return this.current?.gens ?? new Uint32Array(0); }
  kinds() { return this.current?.kinds ?? new Uint8Array(0); }
  colors() { return this.current?.colors ?? new Uint32Array(0); }
  quantised() { return this.current?.q ?? new Uint32Array(0); }

  /** Positions as floats in the box, count*dims, at each cell's centre:
   * lo + (q + 0.5) * (hi - lo) / 2^bits. Computed once per view; the array
   * is reused after the next apply, so copy it (or upload it) before then. */
  positions() {
    const v = this.current;
    if (!v) return new Float32Array(0);
    if (v._positions) return v._positions;
    const { dims, count, q } = v;
    const spare = this.sparePositions;
    this.sparePositions = null;
    const out = spare && spare.byteLength >= count * dims * 4 ? new Float32Array(spare, 0, count * dims) : new Float32Array(count * dims);
    const cells = 2 ** v.bits;
    for (let a = 0; a < dims; a++) {
      const lo = this.box ? this.box[0][a] : 0;
      const hi = this.box ? this.box[1][a] : 1;
      const step = (hi - lo) / cells;
      const off = lo + 0.5 * step;
      for (let i = 0, j = a; i < count; i++, j += dims) out[j] = off + q[j] * step;
    }
    v._positions = out;
    return out;
  }
}

// ---- messages to the server and JSON from it ------------------------------

/** 0x10 ack: the client holds view seq. */
export function ackMessage(seq) {
  const m = new Uint8Array(5);
  m[0] = MSG_ACK;
  new DataView(m.buffer).setUint32(1, seq >>> 0, true);
  return m;
}

/** 0x11 rate: updates per second wanted (0 = every frame). */
export function rateMessage(perSecond) {
  const m = new Uint8Array(3);
  m[0] = MSG_RATE;
  new DataView(m.buffer).setUint16(1, Math.max(0, Math.min(65535, perSecond | 0)), true);
  return m;
}

/** 0x12 resync: ask for a keyframe. */
export function resyncMessage() {
  return Uint8Array.of(MSG_RESYNC);
}

/** Parses a token of 32 hex digits into 16 bytes, or returns null. */
export function parseToken(hex) {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{32}$/.test(hex)) return null;
  const t = new Uint8Array(16);
  for (let i = 0; i < 16; i++) t[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return t;
}

/** 0x13 control: token (32 hex digits or 16 bytes), command 1..4; command 4
 * (CONTROL_CHUNK) takes a system index and a chunk size. */
export function controlMessage(token, command, system = 0, chunk = 0) {
  const t = typeof token === 'string' ? parseToken(token) : token;
  if (!t || t.length !== 16) throw new RangeError('control needs a 16-byte token (32 hex digits)');
  const withArgs = command === CONTROL_CHUNK;
  const m = new Uint8Array(withArgs ? 26 : 18);
  m[0] = MSG_CONTROL;
  m.set(t, 1);
  m[17] = command;
  if (withArgs) {
    const dv = new DataView(m.buffer);
    dv.setUint32(18, system >>> 0, true);
    dv.setUint32(22, chunk >>> 0, true);
  }
  return m;
}

const utf8 = new TextDecoder('utf-8');

/** Parses a JSON message (hello 0x01, figures 0x04, reply 0x05): returns
 * the object, or throws a StreamError when it is not valid JSON. */
export function parseJson(bytes) {
  try {
    return JSON.parse(utf8.decode(bytes.subarray(1)));
  } catch (e) {
    throw corrupt(`message 0x${bytes[0].toString(16)} is not JSON (${e.message})`);
  }
}

export const parseHello = parseJson;
export const parseFigures = parseJson;

/** The hash field a keyframe or delta carries, as 16 hex digits (or '' for
 * a message too short to have one). */
export function messageHash(bytes) {
  if (bytes.length < HEADER_BYTES) return '';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return hex32(dv.getUint32(32, true)) + hex32(dv.getUint32(28, true));
}

/** The type byte's name, for logs. */
export function messageName(type) {
  return { 1: 'hello', 2: 'keyframe', 3: 'delta', 4: 'figures', 5: 'reply' }[type] ?? `0x${type.toString(16)}`;
}
