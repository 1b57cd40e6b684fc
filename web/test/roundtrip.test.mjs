// Round trip: web/test/encoder.mjs codes random worlds as keyframes and
// deltas (spawns, destroys, changes, moves; dims 2 and 3; bits 1..24;
// residual widths 0..26; baselines acked late; uneven frame steps), and
// web/stream.js must rebuild every view with the encoder's hash. Corrupt,
// truncated and unknown-base messages must throw and change nothing.
// Usage: node web/test/roundtrip.test.mjs    (exit 0 pass, 1 fail)
import { StreamView, hashView, hashHex, ackMessage, rateMessage, resyncMessage, controlMessage, parseJson } from '../stream.js';
import { TestEncoder, entitiesHash } from './encoder.mjs';

let failures = 0;
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
    if (failures > 20) { console.error('too many failures'); process.exit(1); }
  }
}

// A small deterministic PRNG (mulberry32), so a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A toy world: entities with velocities in quantised space.
class World {
  constructor(rand, dims, bits, n) {
    this.rand = rand; this.dims = dims; this.qmax = 2 ** bits - 1;
    this.ents = new Map(); this.nextSlot = 0; this.gens = new Map();
    for (let i = 0; i < n; i++) this.spawn();
  }
  randInt(n) { return Math.floor(this.rand() * n); }
  spawn() {
    // Reuse a free slot half the time, as the ECS does.
    let slot = this.nextSlot;
    if (this.rand() < 0.5 && this.nextSlot > 0) {
      const s = this.randInt(this.nextSlot);
      if (!this.ents.has(s)) slot = s;
    }
    if (slot === this.nextSlot) this.nextSlot += 1 + this.randInt(3);
    const gen = (this.gens.get(slot) ?? 0) + 1;
    this.gens.set(slot, gen);
    const q = Array.from({ length: this.dims }, () => this.randInt(this.qmax + 1));
    const v = Array.from({ length: this.dims }, () => this.randInt(9) - 4);
    this.ents.set(slot, { slot, gen, kind: this.randInt(4), color: (this.rand() * 2 ** 32) >>> 0, q, v });
  }
  step(opts) {
    const clamp = (x) => Math.max(0, Math.min(this.qmax, x));
    for (const e of this.ents.values()) {
      if (this.rand() < opts.jump) e.q = e.q.map(() => this.randInt(this.qmax + 1));
      else e.q = e.q.map((x, a) => clamp(x + e.v[a] * opts.frames));
    }
    for (const e of [...this.ents.values()]) {
      if (this.rand() < opts.destroy) this.ents.delete(e.slot);
      else if (this.rand() < opts.change) { e.kind = this.randInt(4); e.color = (this.rand() * 2 ** 32) >>> 0; }
    }
    const spawns = this.randInt(opts.spawn + 1);
    for (let i = 0; i < spawns; i++) this.spawn();
  }
  list() { return [...this.ents.values()]; }
}

function viewMatches(view, ents, dims) {
  const sorted = [...ents].sort((a, b) => a.slot - b.slot);
  if (view.count !== sorted.length) return `count ${view.count} != ${sorted.length}`;
  const s = view.slots(), g = view.gens(), q = view.quantised();
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (s[i] !== e.slot || g[i] !== e.gen) return `entity ${i}: id ${s[i]}/${g[i]} != ${e.slot}/${e.gen}`;
    for (let a = 0; a < dims; a++) if (q[i * dims + a] !== e.q[a]) return `entity ${i} axis ${a}: ${q[i * dims + a]} != ${e.q[a]}`;
  }
  return null;
}

// Expects apply() to throw (code `code`, when given) and change nothing.
function expectRejected(dec, bytes, what, code) {
  const before = { seq: dec.seq, hash: dec.viewHash(), held: [...dec.views.keys()].join(',') };
  let err = null;
  try { dec.apply(bytes); } catch (e) { err = e; }
  check(err !== null, `${what}: apply did not throw`);
  if (err && code) check(err.code === code, `${what}: code ${err.code}, wanted ${code} (${err.message})`);
  const after = { seq: dec.seq, hash: dec.viewHash(), held: [...dec.views.keys()].join(',') };
  check(JSON.stringify(before) === JSON.stringify(after), `${what}: the view changed on error`);
}

// One scenario: a world stepped `updates` times, each view coded against
// the receiver's latest ack from `lag` updates ago.
function scenario(seed, { dims, bits, kinds, color, n, updates, lag, extraWidth = 0, jump = 0.02, frameJitter = true }) {
  const rand = rng(seed);
  const world = new World(rand, dims, bits, n);
  const enc = new TestEncoder({ dims, bits, kinds, color, history: 6, extraWidth });
  const dec = new StreamView({ kinds, color, box: [[-1, -1, -1], [1, 1, 1]] });
  const acks = [];
  let frame = 100;
  const label = `seed ${seed} dims ${dims} bits ${bits} kinds ${kinds} color ${color}`;
  let sawDelta = false;
  for (let u = 0; u < updates; u++) {
    const frames = frameJitter ? 1 + Math.floor(rand() * 3) : 2;
    if (u > 0) world.step({ frames, jump, destroy: 0.03, change: 0.03, spawn: Math.ceil(n / 20) });
    frame += frames;
    enc.capture(world.list(), frame);
    const base = acks.length > lag ? acks[acks.length - 1 - lag] : 0;
    const { bytes, used, hash } = enc.encode(enc.holds(base) ? base : 0);
    if (used) sawDelta = true;
    let result;
    try {
      result = dec.apply(bytes);
    } catch (e) {
      check(false, `${label} update ${u}: ${e.message}`);
      return;
    }
    check(result.seq === enc.seq && result.keyframe === (used === 0), `${label} update ${u}: result ${JSON.stringify(result)}`);
    check(dec.viewHash() === hash, `${label} update ${u}: hash ${dec.viewHash()} != encoder ${hash}`);
    const diff = viewMatches(dec, world.list().map((e) => ({ ...e, kind: kinds ? e.kind : 0 })), dims);
    check(diff === null, `${label} update ${u}: ${diff}`);
    acks.push(result.seq);

    // Every few updates: corrupt copies must be refused without harm.
    if (u % 4 === 3 && used) corruptions(dec, enc, bytes, label, u);
  }
  check(sawDelta || updates < 2, `${label}: no delta was coded`);
}

function corruptions(dec, enc, bytes, label, u) {
  // Re-applying the same delta is fine (same seq), so roll back first: make
  // corrupt copies of a message that is about to be applied instead.
  const last = bytes;
  for (const at of [last.length - 1, Math.floor(last.length * 0.75), 33]) {
    if (at < 32 || at >= last.length) continue;
    const bad = Uint8Array.from(last);
    bad[at] ^= 0x5a;
    // Bump seq so it is a new view against a held base.
    expectRejected(dec, withSeq(bad, 0x7fffffff), `${label} update ${u}: byte ${at} flipped`, 'ECORRUPT');
  }
  expectRejected(dec, withSeq(last.subarray(0, last.length - 1), 0x7fffffff), `${label} update ${u}: truncated`, 'ECORRUPT');
  expectRejected(dec, withSeq(last.subarray(0, 34), 0x7fffffff), `${label} update ${u}: header only`, 'ECORRUPT');
  const unknown = withSeq(last, 0x7fffffff);
  new DataView(unknown.buffer).setUint32(12, 0x7ffffff0, true);
  expectRejected(dec, unknown, `${label} update ${u}: unknown base`, 'ENOTFOUND');
  const wrongHash = withSeq(last, 0x7fffffff);
  wrongHash[28] ^= 1;
  expectRejected(dec, wrongHash, `${label} update ${u}: wrong hash`, 'ECORRUPT');
  const wrongCount = withSeq(last, 0x7fffffff);
  wrongCount[24] ^= 1;
  expectRejected(dec, wrongCount, `${label} update ${u}: wrong count`, 'ECORRUPT');
}

function withSeq(bytes, seq) {
  const copy = Uint8Array.from(bytes);
  new DataView(copy.buffer).setUint32(8, seq, true);
  return copy;
}

// Widths: a block whose residual needs exactly w bits, for w = 0..26.
function widths() {
  for (let w = 0; w <= 26; w++) {
    const bits = 24, dims = 2;
    const enc = new TestEncoder({ dims, bits });
    const dec = new StreamView({});
    // Start in the middle, then move by a residual whose zigzag needs w bits.
    const mid = 2 ** 23;
    enc.capture([{ slot: 3, gen: 1, kind: 0, color: 0, q: [mid, 0] }], 1);
    dec.apply(enc.encode(0).bytes);
    const z = w === 0 ? 0 : 2 ** w - 1; // odd: a negative residual
    const r = z % 2 ? -(z + 1) / 2 : z / 2;
    const target = Math.max(0, Math.min(2 ** bits - 1, mid + r));
    enc.capture([{ slot: 3, gen: 1, kind: 0, color: 0, q: [target, 0] }], 2);
    const m = enc.encode(1);
    try {
      dec.apply(m.bytes);
      check(dec.viewHash() === m.hash && dec.quantised()[0] === target, `width ${w}: position ${dec.quantised()[0]} != ${target}`);
    } catch (e) {
      check(false, `width ${w}: ${e.message}`);
    }
  }
  // Forced wide blocks on small residuals: every width 0..26 as a block width.
  for (let extra = 0; extra <= 26; extra += 13) scenario(900 + extra, { dims: 3, bits: 12, kinds: true, color: false, n: 70, updates: 5, lag: 0, extraWidth: extra });
}

// The hash of the empty view and a hand-made one, against the encoder's.
function hashes() {
  check(hashHex(hashView(0, 2)) === entitiesHash([], 2), 'empty hash');
  const ents = [{ slot: 1, gen: 2, kind: 3, color: 0xff00ff00, q: [5, 6, 7] }, { slot: 9, gen: 1, kind: 0, color: 1, q: [0, 0xffffff, 3] }];
  const got = hashHex(hashView(2, 3, Uint32Array.of(1, 9), Uint32Array.of(2, 1), Uint8Array.of(3, 0), Uint32Array.of(0xff00ff00, 1), Uint32Array.of(5, 6, 7, 0, 0xffffff, 3)));
  check(got === entitiesHash(ents, 3), `hash ${got} != ${entitiesHash(ents, 3)}`);
  check(/^[0-9a-f]{16}$/.test(got), 'hash is 16 lowercase hex digits');
}

function clientMessages() {
  const ack = ackMessage(0x01020304);
  check(ack.length === 5 && ack[0] === 0x10 && ack[1] === 4 && ack[4] === 1, 'ack bytes');
  const rate = rateMessage(300);
  check(rate.length === 3 && rate[0] === 0x11 && rate[1] === 44 && rate[2] === 1, 'rate bytes');
  check(resyncMessage().length === 1 && resyncMessage()[0] === 0x12, 'resync bytes');
  const token = '00112233445566778899aabbccddeeff';
  const pause = controlMessage(token, 1);
  check(pause.length === 18 && pause[0] === 0x13 && pause[1] === 0x00 && pause[16] === 0xff && pause[17] === 1, 'pause bytes');
  const chunk = controlMessage(token, 4, 2, 4096);
  check(chunk.length === 26 && chunk[17] === 4 && chunk[18] === 2 && chunk[22] === 0 && chunk[23] === 16, 'chunk bytes');
  const hello = parseJson(new TextEncoder().encode('\x01{"dims":3,"kinds":["a"]}'));
  check(hello.dims === 3 && hello.kinds[0] === 'a', 'hello JSON');
  let threw = false;
  try { parseJson(Uint8Array.of(4, 0x7b)); } catch { threw = true; }
  check(threw, 'bad JSON throws');
}

function views() {
  // The decoder keeps `keep` views: older bases are refused with ENOTFOUND.
  const enc = new TestEncoder({ dims: 2, bits: 8, history: 20 });
  const dec = new StreamView({ keep: 3 });
  for (let s = 1; s <= 5; s++) {
    enc.capture([{ slot: 0, gen: 1, kind: 0, color: 0, q: [s, s] }], s);
    dec.apply(enc.encode(s - 1).bytes);
  }
  check([...dec.views.keys()].join(',') === '3,4,5', `held views ${[...dec.views.keys()]}`);
  enc.capture([{ slot: 0, gen: 1, kind: 0, color: 0, q: [9, 9] }], 9);
  expectRejected(dec, enc.encode(2).bytes, 'delta against an evicted view', 'ENOTFOUND');
  dec.apply(enc.encode(3).bytes);
  check(dec.seq === 6 && dec.quantised()[0] === 9, 'delta against an older held view');
  const p = new StreamView({ box: [[0, 10], [1, 20]] });
  enc.capture([{ slot: 0, gen: 1, kind: 0, color: 0, q: [0, 255] }], 10);
  p.apply(enc.encode(0).bytes);
  const pos = p.positions();
  check(Math.abs(pos[0] - 0.5 / 256) < 1e-6 && Math.abs(pos[1] - (10 + 255.5 * 10 / 256)) < 1e-4, `positions ${pos}`);
}

const started = Date.now();
hashes();
clientMessages();
views();
widths();
let seed = 1;
for (const dims of [2, 3]) {
  for (const bits of [1, 2, 5, 8, 12, 16, 20, 24]) {
    for (const [kinds, color] of [[false, false], [true, false], [false, true], [true, true]]) {
      scenario(seed++, { dims, bits, kinds, color, n: 60, updates: 10, lag: seed % 3 });
    }
  }
}
// Bigger: several residual blocks, late acks, constant and uneven steps.
scenario(1001, { dims: 3, bits: 16, kinds: true, color: true, n: 700, updates: 12, lag: 2 });
scenario(1002, { dims: 2, bits: 10, kinds: false, color: false, n: 500, updates: 12, lag: 0, frameJitter: false, jump: 0 });

if (failures) {
  console.error(`roundtrip: ${failures} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`roundtrip: all ${checks} checks passed in ${Date.now() - started} ms`);
