// Decodes a recorded stream with web/stream.js and checks every view hash
// against the C side's.
// Usage: node web/test/decode.test.mjs RECORDING HASHES [--kinds|--no-kinds] [--color|--no-color]
//   RECORDING: records of u32 LE length + one message (0x02 keyframe and
//              0x03 delta are applied, a 0x01 hello configures the decoder,
//              anything else is skipped).
//   HASHES:    one line per keyframe/delta record, "<seq> <16 hex hash>",
//              the C decoder's view after applying that record.
// Whether spawned/changed entries carry kinds and colours comes from the
// hello; without one, from the flags; without those, from the first
// keyframe (the layout whose hash verifies).
// Before each sampled message is applied, corrupt copies of it (a byte
// flipped in the residuals at the end, truncations) must throw and leave
// the view as it was. Exit 0 on pass, 1 with a message on failure.
import fs from 'node:fs';
import { StreamView, parseJson } from '../stream.js';

function die(message) {
  console.error(`decode test FAILED: ${message}`);
  process.exit(1);
}

function readRecords(file) {
  const buf = fs.readFileSync(file);
  const records = [];
  for (let pos = 0; pos < buf.length;) {
    if (pos + 4 > buf.length) die(`${file}: truncated record length at byte ${pos}`);
    const n = buf.readUInt32LE(pos);
    if (pos + 4 + n > buf.length) die(`${file}: record at byte ${pos} runs past the end`);
    records.push(new Uint8Array(buf.buffer, buf.byteOffset + pos + 4, n));
    pos += 4 + n;
  }
  return records;
}

function readHashes(file) {
  return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).map((line, i) => {
    const m = line.match(/^(\d+)\s+([0-9a-fA-F]{16})$/);
    if (!m) die(`${file} line ${i + 1}: "${line}" is not "<seq> <16 hex>"`);
    return { seq: Number(m[1]), hash: m[2].toLowerCase() };
  });
}

// The layout (kinds, colour) under which the first keyframe's hash checks.
function detectLayout(keyframe) {
  for (const kinds of [false, true]) {
    for (const color of [false, true]) {
      try {
        new StreamView({ kinds, color }).apply(keyframe);
        return { kinds, color };
      } catch { /* try the next */ }
    }
  }
  return null;
}

function snapshot(view) {
  return `seq ${view.seq} hash ${view.viewHash()} count ${view.count} held ${[...view.views.keys()].join(',')}`;
}

function expectRejected(view, bad, what) {
  const before = snapshot(view);
  let threw = false;
  try { view.apply(bad); } catch { threw = true; }
  if (!threw) die(`${what}: the corrupt message was applied`);
  const after = snapshot(view);
  if (after !== before) die(`${what}: a refused message changed the view (${before} -> ${after})`);
}

function corruptions(view, bytes, index) {
  const what = `record ${index}`;
  const flip = (at) => { const c = Uint8Array.from(bytes); c[at] ^= 0xff; return c; };
  expectRejected(view, flip(bytes.length - 1), `${what} with its last byte flipped`);
  const inside = Math.max(32, Math.floor(bytes.length * 0.9));
  if (inside < bytes.length) expectRejected(view, flip(inside), `${what} with byte ${inside} flipped`);
  expectRejected(view, bytes.subarray(0, bytes.length - 1), `${what} truncated by one byte`);
  expectRejected(view, bytes.subarray(0, Math.floor(bytes.length / 2)), `${what} truncated to half`);
}

function main() {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length !== 2) die('usage: node web/test/decode.test.mjs RECORDING HASHES [--kinds|--no-kinds] [--color|--no-color]');
  const records = readRecords(files[0]);
  const expected = readHashes(files[1]);
  const flags = {};
  if (args.includes('--kinds')) flags.kinds = true;
  if (args.includes('--no-kinds')) flags.kinds = false;
  if (args.includes('--color')) flags.color = true;
  if (args.includes('--no-color')) flags.color = false;

  const hello = records.find((r) => r[0] === 0x01);
  let layout;
  if (hello) {
    const h = parseJson(hello);
    layout = { kinds: Array.isArray(h.kinds) && h.kinds.length > 0, color: !!h.color };
  } else if ('kinds' in flags && 'color' in flags) {
    layout = flags;
  } else {
    const first = records.find((r) => r[0] === 0x02);
    layout = first ? detectLayout(first) : { kinds: false, color: false };
    if (!layout) die('no layout (kinds, colour) makes the first keyframe verify: pass --kinds/--no-kinds and --color/--no-color');
  }
  Object.assign(layout, flags);

  const view = new StreamView(layout);
  let line = 0, applied = 0, refused = 0, corruptChecks = 0;
  records.forEach((bytes, index) => {
    if (bytes[0] !== 0x02 && bytes[0] !== 0x03) return;
    if (line >= expected.length) die(`more keyframes/deltas than lines in ${files[1]} (record ${index})`);
    const want = expected[line++];
    // Sample the corruption checks: the first messages, then every 16th.
    if (index < 4 || index % 16 === 0) { corruptions(view, bytes, index); corruptChecks++; }
    try {
      view.apply(bytes);
      applied++;
    } catch (e) {
      // The C side refused it too only if its hash is the unchanged view's.
      if (want.hash !== view.viewHash()) die(`record ${index}: ${e.message}`);
      refused++;
      return;
    }
    if (view.seq !== want.seq) die(`record ${index}: seq ${view.seq}, the hashes file says ${want.seq}`);
    if (view.viewHash() !== want.hash) die(`record ${index} (seq ${view.seq}): view hash ${view.viewHash()}, C says ${want.hash}`);
  });
  if (line !== expected.length) die(`${expected.length - line} hash lines left over: fewer keyframes/deltas than lines`);
  if (applied === 0) die('no keyframe or delta in the recording');
  console.log(`decode: ${applied} views applied (${refused} refused as the C side did), ${line} hashes match, ` +
    `${corruptChecks} messages' corrupt copies refused; layout kinds=${layout.kinds} color=${layout.color}; last view ${snapshot(view)}`);
}

main();
