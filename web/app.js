// myriad live view: connects to ws(s)://HOST/stream, keeps the view in step
// (ack every applied view, resync when a delta cannot be applied, reconnect
// with a fresh decoder when the socket closes) and shows the entities, the
// stream's cost and the server's per-system figures.
import {
  StreamView, ackMessage, rateMessage, resyncMessage, controlMessage, parseJson, parseToken, messageHash,
  MSG_HELLO, MSG_KEYFRAME, MSG_DELTA, MSG_FIGURES, MSG_REPLY,
  CONTROL_PAUSE, CONTROL_RESUME, CONTROL_STEP, CONTROL_CHUNK,
} from './stream.js';
import { PointRenderer, kindColour } from './render.js';
import { drawGantt, systemColour } from './gantt.js';

const $ = (id) => document.getElementById(id);

// What tests read; kept current as messages arrive.
const exposed = { updates: 0, viewHash: '', serverHash: '', count: 0, webgl: false, webglVersion: 0, connected: false, lastError: '' };
window.myriadView = exposed;

const state = {
  socket: null,
  decoder: null,
  hello: null,
  figures: null,
  awaitingKeyframe: false, // a resync was sent: deltas that fail until the keyframe are expected
  resyncAt: 0,
  retryMs: 500,
  received: [], // [time ms, bytes, entities] of recent keyframes and deltas, for bytes/s
  token: parseToken((location.hash.match(/token=([0-9a-fA-F]{32})/) || [])[1]),
  chunkEdit: false, // don't rebuild the table under a user's typing
};

let renderer = null;
try {
  // ?webgl1 in the URL forces the WebGL1 path, to test it.
  renderer = new PointRenderer($('view'), { webgl1: new URLSearchParams(location.search).has('webgl1') });
  exposed.webgl = renderer.ok;
  exposed.webglVersion = renderer.version;
} catch (e) {
  exposed.lastError = `WebGL: ${e.message}`;
}
$('nowebgl').hidden = exposed.webgl;

// ---- the connection ---------------------------------------------------------

function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/stream`;
  // A fresh decoder: the server starts every connection with a keyframe.
  state.decoder = new StreamView({ keep: 8 });
  state.awaitingKeyframe = false;
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  state.socket = ws;
  ws.onopen = () => {
    state.retryMs = 500;
    setConnected(true);
    send(rateMessage(Number($('rate').value)));
  };
  ws.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) onMessage(new Uint8Array(event.data));
  };
  ws.onclose = () => {
    if (state.socket !== ws) return;
    setConnected(false);
    state.received.length = 0; // no stale bytes/s while away
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(5000, state.retryMs * 2);
  };
  ws.onerror = () => { exposed.lastError = 'WebSocket error'; };
}

function send(bytes) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(bytes);
}

function setConnected(on) {
  exposed.connected = on;
  $('banner').hidden = on;
  $('status').textContent = on ? 'connected' : 'disconnected';
  $('status').className = `pill ${on ? 'on' : 'off'}`;
}

function onMessage(bytes) {
  if (bytes.length === 0) return;
  switch (bytes[0]) {
    case MSG_HELLO: return onJson(bytes, onHello);
    case MSG_KEYFRAME:
    case MSG_DELTA: return onView(bytes);
    case MSG_FIGURES: return onJson(bytes, onFigures);
    case MSG_REPLY: return onJson(bytes, onReply);
    default: return undefined; // a newer server's message: skip it
  }
}

function onJson(bytes, handler) {
  try {
    handler(parseJson(bytes));
  } catch (e) {
    showError(e.message);
  }
}

// Applies a keyframe or delta, acks it, or asks for a keyframe.
function onView(bytes) {
  const isKeyframe = bytes[0] === MSG_KEYFRAME;
  let result;
  try {
    result = state.decoder.apply(bytes);
  } catch (e) {
    showError(e.message);
    // One resync at a time: deltas already in flight will fail too.
    const now = performance.now();
    if (!state.awaitingKeyframe || now - state.resyncAt > 2000) {
      send(resyncMessage());
      state.awaitingKeyframe = true;
      state.resyncAt = now;
    }
    return;
  }
  if (isKeyframe) state.awaitingKeyframe = false;
  send(ackMessage(result.seq));
  const d = state.decoder;
  exposed.updates++;
  exposed.count = d.count;
  exposed.viewHash = d.viewHash();
  exposed.serverHash = messageHash(bytes);
  state.received.push([performance.now(), bytes.length, d.count]);
  state.lastSize = `${formatBytes(bytes.length)} ${isKeyframe ? 'keyframe' : 'delta'}`;
  state.viewChanged = true;
}

function onHello(hello) {
  state.hello = hello;
  state.decoder.setHello(hello);
  $('scenario').textContent = [hello.scenario, `${hello.dims}D`, `${hello.bits} bits/axis`]
    .filter(Boolean).join(' · ');
  $('hint').textContent = hello.dims === 3 ? 'drag to rotate · wheel to zoom' : '';
  $('control-card').hidden = !hello.control;
  $('control-state').textContent = hello.control && !state.token
    ? 'open this page with #token=<hex> (the server prints it) to control' : '';
  buildLegend(hello);
  state.systemsKey = ''; // rebuild the table: chunk inputs depend on control
}

function buildLegend(hello) {
  const legend = $('legend');
  legend.replaceChildren();
  if (hello.color || !hello.kinds || hello.kinds.length === 0) return;
  hello.kinds.forEach((name, i) => {
    const item = document.createElement('span');
    const sw = document.createElement('i');
    sw.style.background = kindColour(i + 1);
    item.append(sw, name);
    legend.append(item);
  });
}

function onFigures(figures) {
  state.figures = figures;
  state.figuresChanged = true;
}

function onReply(reply) {
  $('control-state').textContent = reply.ok ? `${reply.command}: ok` : `refused: ${reply.error}`;
}

function showError(message) {
  exposed.lastError = message;
  $('error').textContent = `last error: ${message}`;
}

// ---- controls ---------------------------------------------------------------

$('rate').addEventListener('change', () => send(rateMessage(Number($('rate').value))));

function sendControl(command, system, chunk) {
  if (!state.token) {
    $('control-state').textContent = 'no token: open this page with #token=<32 hex digits>';
    return;
  }
  send(controlMessage(state.token, command, system, chunk));
}
$('pause').addEventListener('click', () => sendControl(CONTROL_PAUSE));
$('resume').addEventListener('click', () => sendControl(CONTROL_RESUME));
$('step').addEventListener('click', () => sendControl(CONTROL_STEP));

// ---- the side panel -----------------------------------------------------------

function formatBytes(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

function fixed(x, digits) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

// Bytes/s and bytes per entity over the last two seconds of views.
function updateStreamFigures(now) {
  const spanMs = 2000;
  while (state.received.length && now - state.received[0][0] > spanMs) state.received.shift();
  let bytes = 0, entities = 0;
  for (const [, b, n] of state.received) { bytes += b; entities += n; }
  const seconds = Math.min(spanMs, Math.max(250, now - (state.received[0]?.[0] ?? now))) / 1000;
  $('rate-bytes').textContent = state.received.length ? `${formatBytes(bytes / seconds)}/s` : '–';
  $('per-entity').textContent = entities ? (bytes / entities).toFixed(2) : '–';
}

function updateStreamPanel() {
  const d = state.decoder;
  $('count').textContent = d ? d.count.toLocaleString('en-US') : '–';
  $('seq').textContent = d && d.seq ? `#${d.seq} · frame ${d.frame}` : '–';
  $('updates').textContent = exposed.updates.toLocaleString('en-US');
  $('last-size').textContent = state.lastSize ?? '–';
  $('view-hash').textContent = exposed.viewHash || '–';
  $('server-hash').textContent = exposed.serverHash || '–';
  const same = exposed.viewHash && exposed.viewHash === exposed.serverHash;
  $('hash-state').textContent = exposed.viewHash ? (same ? '✓ in step with the server' : '✗ hashes differ') : '';
  $('hash-state').className = exposed.viewHash ? (same ? 'good' : 'bad') : 'muted';
}

function updateFiguresPanel() {
  const f = state.figures;
  if (!f) return;
  $('frame-ms').textContent = fixed(f.frame_ms, 2);
  $('fps').textContent = fixed(f.fps, f.fps >= 100 ? 0 : 1);
  $('merge-share').textContent = typeof f.merge_share === 'number' ? `${(f.merge_share * 100).toFixed(1)}%` : '–';
  const extra = [`frame ${f.frame}`];
  if (typeof f.merge_ms === 'number') extra.push(`merge ${f.merge_ms.toFixed(2)} ms`);
  if (typeof f.encode_ms === 'number') extra.push(`encode ${f.encode_ms.toFixed(2)} ms`);
  if (f.stream) extra.push(`${f.stream.clients} client${f.stream.clients === 1 ? '' : 's'}`);
  if (f.paused) extra.push('paused');
  $('frame-extra').textContent = extra.join(' · ');
  updateSystemsTable(f.systems || []);
  drawGantt($('gantt'), f.gantt);
  if (f.gantt) {
    $('gantt-note').textContent = `${fixed(f.gantt.frame_ns / 1e6, 3)} ms · ${f.gantt.workers} worker${f.gantt.workers === 1 ? '' : 's'} · merge in grey`;
  }
}

// The table's rows are rebuilt only when the systems change; figures update
// the cells in place so a chunk input keeps its focus and text.
function updateSystemsTable(systems) {
  const control = !!(state.hello && state.hello.control);
  const key = `${control}|${systems.map((s) => s.name).join(',')}`;
  const body = $('systems').tBodies[0];
  if (key !== state.systemsKey) {
    state.systemsKey = key;
    body.replaceChildren(...systems.map((s, i) => systemRow(s, i, control)));
  }
  systems.forEach((s, i) => {
    const cells = body.rows[i].cells;
    cells[1].textContent = fixed(s.ns_per_entity, 3);
    cells[2].textContent = s.chunks ?? '–';
    const input = cells[3].querySelector('input');
    if (input) {
      if (document.activeElement !== input) input.value = s.chunk;
    } else {
      cells[3].textContent = s.chunk ?? '–';
    }
    cells[4].textContent = typeof s.entities === 'number' ? s.entities.toLocaleString('en-US') : '–';
  });
}

function systemRow(s, i, control) {
  const tr = document.createElement('tr');
  const name = document.createElement('td');
  const sw = document.createElement('span');
  sw.className = 'swatch';
  sw.style.background = systemColour(s.name);
  sw.style.marginRight = '6px';
  name.append(sw, s.name);
  tr.append(name);
  for (let c = 0; c < 4; c++) tr.append(document.createElement('td'));
  if (control) {
    // The index in the hello's systems list is what the server wants.
    const index = state.hello.systems ? state.hello.systems.indexOf(s.name) : i;
    const input = document.createElement('input');
    input.type = 'number';
    input.min = '1';
    input.title = 'chunk size: Enter to set';
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const chunk = Number(input.value);
      if (Number.isInteger(chunk) && chunk > 0) sendControl(CONTROL_CHUNK, index >= 0 ? index : i, chunk);
      input.blur();
    });
    tr.cells[3].append(input);
  }
  return tr;
}

// ---- the draw loop -------------------------------------------------------------

function frame(now) {
  const d = state.decoder;
  if (state.viewChanged && d && renderer && renderer.ok) {
    state.viewChanged = false;
    const hello = state.hello || {};
    renderer.setView({
      dims: d.dims, box: hello.box, count: d.count, positions: d.positions(),
      kinds: d.kinds(), colors: d.colors(), useColor: !!hello.color,
    });
  }
  if (renderer) renderer.draw();
  updateStreamFigures(now);
  updateStreamPanel();
  if (state.figuresChanged) {
    state.figuresChanged = false;
    updateFiguresPanel();
  }
  requestAnimationFrame(frame);
}

// The Gantt is drawn at the canvas's size: redraw it when that changes.
window.addEventListener('resize', () => { state.figuresChanged = true; });

setConnected(false);
$('banner').hidden = true; // not "reconnecting" before the first attempt
$('status').textContent = 'connecting…';
drawGantt($('gantt'), null);
connect();
requestAnimationFrame(frame);
