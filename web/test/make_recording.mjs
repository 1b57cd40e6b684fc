// Test-only: writes a recording and its hashes file in the format
// decode.test.mjs reads, from web/test/encoder.mjs, to check that test
// before (and beside) the C recorder.
// Usage: node web/test/make_recording.mjs OUT.rec OUT.hashes [--dims 3]
//          [--bits 16] [--entities 500] [--updates 40] [--kinds] [--color] [--hello]
import fs from 'node:fs';
import { TestEncoder } from './encoder.mjs';

const args = process.argv.slice(2);
const [recFile, hashFile] = args.filter((a, i) => !a.startsWith('--') && !(args[i - 1] || '').match(/^--(dims|bits|entities|updates)$/));
const num = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const dims = num('dims', 3), bits = num('bits', 16), n = num('entities', 500), updates = num('updates', 40);
const kinds = args.includes('--kinds'), color = args.includes('--color');
if (!recFile || !hashFile) { console.error('usage: make_recording.mjs OUT.rec OUT.hashes [options]'); process.exit(2); }

const qmax = 2 ** bits - 1;
let nextSlot = 0;
const ents = new Map();
const spawn = () => {
  const slot = nextSlot++;
  ents.set(slot, { slot, gen: 1 + (slot % 3), kind: slot % 4, color: (slot * 2654435761) >>> 0,
    q: Array.from({ length: dims }, () => Math.floor(Math.random() * qmax)), v: Array.from({ length: dims }, () => Math.round((Math.random() - 0.5) * qmax / 50)) });
};
for (let i = 0; i < n; i++) spawn();

const enc = new TestEncoder({ dims, bits, kinds, color, history: 4 });
const out = [], lines = [];
const record = (bytes) => { const len = Buffer.alloc(4); len.writeUInt32LE(bytes.length); out.push(len, Buffer.from(bytes)); };
if (args.includes('--hello')) record(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify({ version: 1, dims, bits, kinds: kinds ? ['a', 'b', 'c'] : [], color }))]));
let ack = 0, frame = 0;
for (let u = 0; u < updates; u++) {
  frame += 1 + (u % 3 === 0 ? 1 : 0);
  for (const e of ents.values()) e.q = e.q.map((x, a) => Math.max(0, Math.min(qmax, x + e.v[a])));
  if (u % 5 === 4) { ents.delete([...ents.keys()][u % ents.size]); spawn(); }
  enc.capture([...ents.values()], frame);
  const { bytes, hash } = enc.encode(u % 10 === 9 ? 0 : ack); // a keyframe now and then
  record(bytes);
  if (u % 7 === 3) record(Uint8Array.of(4, 0x7b, 0x7d)); // a figures message to skip
  lines.push(`${enc.seq} ${hash}`);
  ack = enc.seq;
}
fs.writeFileSync(recFile, Buffer.concat(out));
fs.writeFileSync(hashFile, lines.join('\n') + '\n');
console.log(`wrote ${updates} views to ${recFile} and ${hashFile}`);
