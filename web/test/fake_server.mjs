// Test-only stand-in for myriad's server: serves web/ over HTTP and streams
// a synthetic world on ws://HOST/stream with web/test/encoder.mjs, so the
// page and web/test/browser.mjs can run before the C server exists.
//
// Usage: node web/test/fake_server.mjs [--port 8099] [--dims 3|2]
//          [--entities 10000] [--color] [--control] [--bits 16]
// Prints "listening on http://127.0.0.1:PORT/" on stdout and, with
// --control, "token=<32 hex>" on stderr.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { TestEncoder } from './encoder.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { port: 8099, dims: 3, entities: 10000, bits: 16, color: false, control: false, fps: 60 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--color') opts.color = true;
    else if (a === '--control') opts.control = true;
    else if (a.startsWith('--') && i + 1 < argv.length) opts[a.slice(2)] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}
const opts = parseArgs(process.argv.slice(2));
const token = crypto.randomBytes(16);
const SYSTEMS = ['orbit', 'drift', 'collide', 'respawn'];
const KINDS = ['Star', 'Gas', 'Dust'];
const box = opts.dims === 3 ? [[-1, -1, -1], [1, 1, 1]] : [[-1, -1], [1, 1]];

// ---- the synthetic world: a rotating galaxy with respawning dust -----------
const world = { frame: 0, paused: false, steps: 0, ents: [], nextSlot: 0, gens: [], chunks: [4096, 4096, 2048, 1024] };

function rand(lo, hi) { return lo + Math.random() * (hi - lo); }

function spawn(slot) {
  const arm = Math.floor(Math.random() * 3);
  const r = Math.pow(Math.random(), 0.7) * 0.9 + 0.03;
  const kind = r < 0.25 ? 1 : Math.random() < 0.7 ? 2 : 3;
  const e = {
    slot, gen: (world.gens[slot] = (world.gens[slot] ?? 0) + 1), kind,
    r, a: arm * (2 * Math.PI / 3) + r * 5 + rand(-0.35, 0.35), h: rand(-0.06, 0.06) * (1 - r),
    color: (0xff000000 | (Math.floor(rand(80, 255)) << 16) | (Math.floor(rand(60, 200)) << 8) | Math.floor(rand(120, 255))) >>> 0,
  };
  world.ents[slot] = e;
}
for (let i = 0; i < opts.entities; i++) spawn(world.nextSlot++);

function stepWorld() {
  world.frame++;
  for (const e of world.ents) {
    if (!e) continue;
    e.a += 0.004 / (e.r + 0.15);
  }
  // A few dust grains die and are reborn each frame (destroy + spawn).
  for (let k = 0; k < Math.ceil(opts.entities / 2000); k++) {
    const s = Math.floor(Math.random() * world.nextSlot);
    if (world.ents[s] && world.ents[s].kind === 3) spawn(s);
  }
}

function quantise(v, a) {
  const cells = 2 ** opts.bits;
  const q = Math.floor((v - box[0][a]) / (box[1][a] - box[0][a]) * cells);
  return Number.isNaN(q) ? 0 : Math.max(0, Math.min(cells - 1, q));
}

function snapshot() {
  const out = [];
  for (const e of world.ents) {
    if (!e) continue;
    const x = e.r * Math.cos(e.a), y = e.r * Math.sin(e.a);
    const q = opts.dims === 3 ? [quantise(x, 0), quantise(e.h, 1), quantise(y, 2)] : [quantise(x, 0), quantise(y, 1)];
    out.push({ slot: e.slot, gen: e.gen, kind: e.kind, color: e.color, q });
  }
  return out;
}

// Plausible per-system figures and a Gantt of the last frame.
function figures(clients) {
  const n = opts.entities, workers = 2;
  const cost = [0.9, 0.35, 1.6, 0.2];
  const spans = [];
  let t = 20000;
  const systems = SYSTEMS.map((name, i) => {
    const ns = cost[i] * rand(0.9, 1.1);
    const total = ns * n;
    const chunks = Math.max(1, Math.ceil(n / world.chunks[i]));
    for (let w = 0; w < workers; w++) spans.push([w, name, Math.round(t + w * 3000), Math.round(t + total / workers + w * rand(0, 8000))]);
    t += total / workers + 12000;
    spans.push([0, 'merge', Math.round(t - 10000), Math.round(t - 2000)]);
    return { name, ns_per_entity: +ns.toFixed(3), chunks, chunk: world.chunks[i], entities: n };
  });
  const frameNs = t + 15000;
  const mergeNs = SYSTEMS.length * 8000;
  return {
    frame: world.frame, frame_ms: frameNs / 1e6, fps: 1e9 / frameNs, merge_ms: mergeNs / 1e6,
    merge_share: mergeNs / frameNs, encode_ms: 0.8, paused: world.paused, systems,
    gantt: { frame_ns: Math.round(frameNs), workers, spans },
    stream: { clients, bytes_per_s: 0, bytes_per_entity: 0 },
  };
}

function jsonMessage(type, obj) {
  return Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(obj))]);
}

// ---- HTTP: web/ as static files ----------------------------------------------
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
  const target = file.endsWith(path.sep) || url.pathname === '/' ? path.join(file, 'index.html') : file;
  if (!target.startsWith(root) || target.includes('node_modules')) { res.writeHead(403).end(); return; }
  fs.readFile(target, (err, data) => {
    if (err) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(data);
  });
});

// ---- WebSocket: one encoder per client -----------------------------------------
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://x').pathname !== '/stream') { socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
});

const clients = new Set();
wss.on('connection', (ws) => {
  const c = { ws, enc: new TestEncoder({ dims: opts.dims, bits: opts.bits, kinds: true, color: opts.color, history: 4 }), ack: 0, rate: 10, last: 0, keyframe: true };
  clients.add(c);
  ws.send(jsonMessage(0x01, {
    version: 1, dims: opts.dims, bits: opts.bits, box, kinds: KINDS, color: opts.color,
    scenario: 'galaxy (fake server)', entities: opts.entities, control: opts.control, systems: SYSTEMS,
  }));
  ws.on('message', (data, isBinary) => onClientMessage(c, new Uint8Array(data), isBinary));
  ws.on('close', () => clients.delete(c));
});

function onClientMessage(c, m, isBinary) {
  const sizes = { 0x10: [5], 0x11: [3], 0x12: [1], 0x13: [18, 26] };
  if (!isBinary || m.length > 64 || !sizes[m[0]] || !sizes[m[0]].includes(m.length)) { c.ws.close(1002, 'bad message'); return; }
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  if (m[0] === 0x10) c.ack = dv.getUint32(1, true);
  else if (m[0] === 0x11) c.rate = dv.getUint16(1, true);
  else if (m[0] === 0x12) c.keyframe = true;
  else control(c, m, dv);
}

function control(c, m, dv) {
  if (!opts.control) { c.ws.send(jsonMessage(0x05, { ok: false, error: 'control is off' })); return; }
  if (!token.equals(Buffer.from(m.subarray(1, 17)))) { c.ws.close(1008, 'wrong token'); return; }
  const names = { 1: 'pause', 2: 'resume', 3: 'step', 4: 'chunk' };
  const cmd = m[17];
  if (cmd === 1) world.paused = true;
  else if (cmd === 2) world.paused = false;
  else if (cmd === 3) world.steps++;
  else if (cmd === 4) {
    const sys = dv.getUint32(18, true), chunk = dv.getUint32(22, true);
    if (sys >= SYSTEMS.length || chunk === 0) { c.ws.send(jsonMessage(0x05, { ok: false, error: 'bad system or chunk' })); return; }
    world.chunks[sys] = chunk;
  } else { c.ws.send(jsonMessage(0x05, { ok: false, error: `unknown command ${cmd}` })); return; }
  c.ws.send(jsonMessage(0x05, { ok: true, command: names[cmd] }));
}

// Sends each client its next view when its rate says so.
function sendViews(now) {
  let ents = null;
  for (const c of clients) {
    const due = c.rate === 0 || now - c.last >= 1000 / c.rate - 1;
    if (!due || c.ws.bufferedAmount > 4e6) continue;
    if (world.paused && !c.keyframe && c.sentFrame === world.frame) continue;
    ents ??= snapshot();
    c.enc.capture(ents, world.frame);
    const base = c.keyframe ? 0 : c.ack;
    const { bytes } = c.enc.encode(c.enc.holds(base) ? base : 0);
    c.keyframe = false;
    c.last = now;
    c.sentFrame = world.frame;
    c.ws.send(bytes);
  }
}

let lastFigures = 0;
setInterval(() => {
  const now = Date.now();
  if (!world.paused) stepWorld();
  else if (world.steps > 0) { world.steps--; stepWorld(); }
  sendViews(now);
  if (now - lastFigures >= 500) {
    lastFigures = now;
    const msg = jsonMessage(0x04, figures(clients.size));
    for (const c of clients) c.ws.send(msg);
  }
}, 1000 / opts.fps);

server.listen(opts.port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  if (opts.control) console.error(`token=${token.toString('hex')}`);
});
