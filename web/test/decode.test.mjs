// Decodes a recorded stream with web/stream.js and checks every view hash
// against the C side's.
// Usage: node web/test/decode.test.mjs RECORDING HASHES
//   RECORDING: records of u32 LE length + one message (0x02 keyframe and
//              0x03 delta are applied, anything else is skipped).
//   HASHES:    one line per keyframe/delta record, "<seq> <16 hex hash>",
//              the C decoder's view after applying that record.
// Every recorded message was applied by the C decoder, so each must apply
// here too, with the same view hash.
// Before each sampled message is applied, corrupt copies of it (a byte
// flipped in the residuals at the end, truncations) must throw and leave
// the view as it was. Exit 0 on pass, 1 with a message on failure.
import fs from 'node:fs';
import { StreamView } from '../stream.js';

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
  if (files.length !== 2) die('usage: node web/test/decode.test.mjs RECORDING HASHES');
  const records = readRecords(files[0]);
  const expected = readHashes(files[1]);
  const view = new StreamView();
  let line = 0, applied = 0, corruptChecks = 0;
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
      die(`record ${index}: ${e.message}`);
    }
    if (view.seq !== want.seq) die(`record ${index}: seq ${view.seq}, the hashes file says ${want.seq}`);
    if (view.viewHash() !== want.hash) die(`record ${index} (seq ${view.seq}): view hash ${view.viewHash()}, C says ${want.hash}`);
  });
  if (line !== expected.length) die(`${expected.length - line} hash lines left over: fewer keyframes/deltas than lines`);
  if (applied === 0) die('no keyframe or delta in the recording');
  console.log(`decode: ${applied} views applied, ${line} hashes match, ` +
    `${corruptChecks} messages' corrupt copies refused; last view ${snapshot(view)}`);
}

main();
