// myriad live view: the last frame as a Gantt chart (canvas 2D): one row
// per worker, each system's spans in its own colour, the merge in grey.

/** A system's colour, the same wherever it appears (table, chart). */
export function systemColour(name) {
  if (name === 'merge') return '#6b7280';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0;
  return `hsl(${(h % 360)}, 70%, 60%)`;
}

// A tick step of 1, 2 or 5 times a power of ten that gives ~`want` ticks.
function niceStep(range, want) {
  const raw = range / want;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function formatNs(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 1e7 ? 0 : 1)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(ns >= 1e4 ? 0 : 1)} µs`;
  return `${ns} ns`;
}

/** Draws gantt = {frame_ns, workers, spans: [[worker, name, start, end]]}. */
export function drawGantt(canvas, gantt) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth, cssH = canvas.clientHeight;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  if (!gantt || !gantt.workers) {
    ctx.fillStyle = '#6b7280';
    ctx.fillText('waiting for figures…', 8, cssH / 2);
    return;
  }
  const left = 30, right = 8, top = 4, axis = 18;
  const rowH = Math.min(26, (cssH - top - axis) / gantt.workers);
  const frameNs = Math.max(1, gantt.frame_ns || Math.max(...gantt.spans.map((s) => s[3])));
  const x = (ns) => left + (ns / frameNs) * (cssW - left - right);

  // Rows and their labels.
  for (let w = 0; w < gantt.workers; w++) {
    const y = top + w * rowH;
    ctx.fillStyle = w % 2 ? '#111827' : '#0d1320';
    ctx.fillRect(left, y, cssW - left - right, rowH);
    ctx.fillStyle = '#9ca3af';
    ctx.fillText(`w${w}`, 4, y + rowH / 2);
  }
  // Spans, with their names where they fit.
  for (const [w, name, start, end] of gantt.spans) {
    if (w >= gantt.workers) continue;
    const x0 = x(start), x1 = Math.max(x(end), x0 + 1);
    const y = top + w * rowH + 3;
    ctx.fillStyle = systemColour(name);
    ctx.fillRect(x0, y, x1 - x0, rowH - 6);
    const label = name;
    if (x1 - x0 > ctx.measureText(label).width + 6) {
      ctx.fillStyle = '#0b0f17';
      ctx.fillText(label, x0 + 3, y + (rowH - 6) / 2);
    }
  }
  // The time axis.
  const yAxis = top + gantt.workers * rowH + 2;
  const step = niceStep(frameNs, 5);
  ctx.strokeStyle = '#374151';
  ctx.fillStyle = '#9ca3af';
  ctx.beginPath();
  ctx.moveTo(left, yAxis + 0.5);
  ctx.lineTo(cssW - right, yAxis + 0.5);
  for (let t = 0; t <= frameNs; t += step) {
    ctx.moveTo(Math.round(x(t)) + 0.5, yAxis);
    ctx.lineTo(Math.round(x(t)) + 0.5, yAxis + 4);
  }
  ctx.stroke();
  ctx.textAlign = 'center';
  for (let t = 0; t <= frameNs; t += step) {
    const tx = Math.min(Math.max(x(t), left + 10), cssW - right - 16);
    ctx.fillText(formatNs(t), tx, yAxis + 11);
  }
  ctx.textAlign = 'left';
}
