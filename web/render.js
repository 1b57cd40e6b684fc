// myriad live view: draws a view's entities as WebGL points (WebGL2 when
// the browser has it, else WebGL1; one GLSL ES 1.00 shader serves both).
// 2D views are fitted to the canvas; 3D views get a perspective camera
// that orbits the box (drag to rotate, wheel to zoom).

const VERTEX = `
attribute vec3 a_pos;
attribute vec4 a_col;
uniform mat4 u_mvp;
uniform float u_size;
uniform float u_perspective;
varying vec4 v_col;
void main() {
  gl_Position = u_mvp * vec4(a_pos, 1.0);
  // Nearer points are drawn larger in 3D, so depth reads at a glance.
  float scale = mix(1.0, 2.6 / max(gl_Position.w, 0.3), u_perspective);
  gl_PointSize = max(1.0, u_size * scale);
  v_col = a_col;
}`;

const FRAGMENT = `
precision mediump float;
varying vec4 v_col;
uniform float u_round;
void main() {
  vec2 d = gl_PointCoord - 0.5;
  if (u_round > 0.5 && dot(d, d) > 0.25) discard;
  gl_FragColor = vec4(v_col.rgb, 1.0);
}`;

// ---- 4x4 matrices, column-major as WebGL wants them --------------------------
function multiply(a, b) {
  const out = new Float32Array(16);
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      out[c * 4 + r] = s;
    }
  }
  return out;
}
function perspective(fovy, aspect, near, far) {
  const f = 1 / Math.tan(fovy / 2), nf = 1 / (near - far);
  return Float32Array.of(f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) * nf, -1, 0, 0, 2 * far * near * nf, 0);
}
function translation(x, y, z) {
  return Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, x, y, z, 1);
}
function scaling(x, y, z) {
  return Float32Array.of(x, 0, 0, 0, 0, y, 0, 0, 0, 0, z, 0, 0, 0, 0, 1);
}
function rotationX(t) {
  const c = Math.cos(t), s = Math.sin(t);
  return Float32Array.of(1, 0, 0, 0, 0, c, s, 0, 0, -s, c, 0, 0, 0, 0, 1);
}
function rotationY(t) {
  const c = Math.cos(t), s = Math.sin(t);
  return Float32Array.of(c, 0, -s, 0, 0, 1, 0, 0, s, 0, c, 0, 0, 0, 0, 1);
}

// Kind 0 (none of the kinds) is a quiet blue-grey; kinds 1.. are distinct,
// bright hues that stay readable on the dark background.
const KIND_COLOURS = ['#7f8ea3', '#ffb000', '#4cc9f0', '#f72585', '#80ed99', '#b388ff', '#ff6b35', '#e9ff70', '#00f5d4', '#ff99c8'];

/** The kind palette as CSS colours (for legends). */
export function kindColour(kind) {
  if (kind < KIND_COLOURS.length) return KIND_COLOURS[kind];
  return `hsl(${(kind * 137.5) % 360}, 75%, 62%)`;
}

function cssToRgba32(css) {
  const c = document.createElement('canvas').getContext('2d');
  c.fillStyle = css;
  c.fillRect(0, 0, 1, 1);
  const [r, g, b] = c.getImageData(0, 0, 1, 1).data;
  return (0xff000000 | (b << 16) | (g << 8) | r) >>> 0; // R in the low byte
}

export class PointRenderer {
  /** options.webgl1: skip WebGL2 (to test the fallback). */
  constructor(canvas, options = {}) {
    this.canvas = canvas;
    // preserveDrawingBuffer lets tests and screenshots read the last frame.
    const attrs = { antialias: true, alpha: false, preserveDrawingBuffer: true };
    this.gl = options.webgl1 ? null : canvas.getContext('webgl2', attrs);
    this.version = this.gl ? 2 : 1;
    if (!this.gl) this.gl = canvas.getContext('webgl', attrs) || canvas.getContext('experimental-webgl', attrs);
    this.ok = !!this.gl;
    if (!this.ok) this.version = 0;
    this.yaw = 0.6;
    this.pitch = 0.45;
    this.distance = 3.8;
    this.count = 0;
    this.dims = 2;
    this.box = [[0, 0, 0], [1, 1, 1]];
    this.dirty = true;
    this.palette = new Uint32Array(256);
    for (let k = 0; k < 256; k++) this.palette[k] = cssToRgba32(kindColour(k));
    this.coloursFrom = null; // the kinds or colours array the colour buffer was made from
    if (this.ok) this._setup();
    this._listen();
  }

  _setup() {
    const gl = this.gl;
    const shader = (type, src) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
      return s;
    };
    const p = gl.createProgram();
    gl.attachShader(p, shader(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.bindAttribLocation(p, 0, 'a_pos');
    gl.bindAttribLocation(p, 1, 'a_col');
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p));
    this.program = p;
    this.u = {};
    for (const name of ['u_mvp', 'u_size', 'u_perspective', 'u_round']) this.u[name] = gl.getUniformLocation(p, name);
    this.posBuffer = gl.createBuffer();
    this.colBuffer = gl.createBuffer();
    this.boxBuffer = gl.createBuffer();
    gl.enable(gl.DEPTH_TEST);
  }

  // Orbit controls: drag rotates, wheel zooms (3D views only).
  _listen() {
    let drag = null;
    this.canvas.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY };
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!drag || this.dims !== 3) return;
      this.yaw += (e.clientX - drag.x) * 0.008;
      this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch + (e.clientY - drag.y) * 0.008));
      drag = { x: e.clientX, y: e.clientY };
      this.dirty = true;
    });
    this.canvas.addEventListener('pointerup', () => { drag = null; });
    this.canvas.addEventListener('wheel', (e) => {
      if (this.dims !== 3) return;
      e.preventDefault();
      this.distance = Math.max(1.2, Math.min(12, this.distance * Math.exp(e.deltaY * 0.001)));
      this.dirty = true;
    }, { passive: false });
  }

  /**
   * Takes a new view: positions (Float32Array, count*dims, in the box), the
   * box, and either per-entity RGBA colours (colour field) or kinds.
   */
  setView({ dims, box, count, positions, kinds, colors, useColor }) {
    this.dims = dims;
    this.count = count;
    if (box) this.box = box;
    if (!this.ok) return;
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuffer);
    gl.bufferData(gl.ARRAY_BUFFER, positions, gl.STREAM_DRAW);
    // Colours change rarely: committed views share their kinds and colours
    // arrays until something changes, so identity says when to rebuild.
    const source = useColor ? colors : kinds;
    if (source !== this.coloursFrom) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuffer);
      gl.bufferData(gl.ARRAY_BUFFER, this._colours(source, useColor, count), gl.STATIC_DRAW);
      this.coloursFrom = source;
    }
    this._boxLines();
    this.dirty = true;
  }

  _colours(source, useColor, count) {
    const out = new Uint32Array(count);
    if (useColor) {
      // Colour 0 means "no colour field": draw it as kind 0.
      for (let i = 0; i < count; i++) out[i] = source[i] === 0 ? this.palette[0] : (source[i] | 0xff000000) >>> 0;
    } else {
      for (let i = 0; i < count; i++) out[i] = this.palette[source[i]];
    }
    return out;
  }

  // The box's edges, drawn faintly so a sparse view still has a frame.
  _boxLines() {
    const [lo, hi] = this.box;
    const z0 = this.dims === 3 ? lo[2] : 0, z1 = this.dims === 3 ? hi[2] : 0;
    const c = [];
    for (let i = 0; i < 8; i++) c.push([i & 1 ? hi[0] : lo[0], i & 2 ? hi[1] : lo[1], i & 4 ? z1 : z0]);
    const edges = this.dims === 3
      ? [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]
      : [[0, 1], [2, 3], [0, 2], [1, 3]];
    const lines = new Float32Array(edges.flatMap(([a, b]) => [...c[a], ...c[b]]));
    this.boxVertices = lines.length / 3;
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.boxBuffer);
    gl.bufferData(gl.ARRAY_BUFFER, lines, gl.STATIC_DRAW);
  }

  // Box coordinates -> clip space: centre the box, scale its largest side
  // to 2, then either fit it (2D) or look at it from the orbit (3D).
  _matrix(width, height) {
    const [lo, hi] = this.box;
    const axes = this.dims === 3 ? 3 : 2;
    let extent = 0;
    for (let a = 0; a < axes; a++) extent = Math.max(extent, hi[a] - lo[a]);
    const s = 2 / extent;
    const cz = axes === 3 ? (lo[2] + hi[2]) / 2 : 0;
    const model = multiply(scaling(s, s, s), translation(-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -cz));
    const aspect = width / height;
    if (this.dims !== 3) {
      const margin = 0.94;
      const fit = aspect >= 1 ? scaling(margin / aspect, margin, 1) : scaling(margin, margin * aspect, 1);
      return multiply(fit, model);
    }
    const view = multiply(translation(0, 0, -this.distance), multiply(rotationX(this.pitch), rotationY(this.yaw)));
    return multiply(perspective(Math.PI / 4, aspect, 0.05, 100), multiply(view, model));
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.dirty = true;
    }
  }

  /** Draws when something changed since the last draw. */
  draw() {
    if (!this.ok) return;
    this._resize();
    if (!this.dirty) return;
    this.dirty = false;
    const gl = this.gl;
    const { width, height } = this.canvas;
    gl.viewport(0, 0, width, height);
    gl.clearColor(0.027, 0.035, 0.055, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.useProgram(this.program);
    gl.uniformMatrix4fv(this.u.u_mvp, false, this._matrix(width, height));
    gl.uniform1f(this.u.u_perspective, this.dims === 3 ? 1 : 0);

    if (this.boxVertices) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.boxBuffer);
      gl.enableVertexAttribArray(0);
      gl.vertexAttribPointer(0, 3, gl.FLOAT, false, 0, 0);
      gl.disableVertexAttribArray(1);
      gl.vertexAttrib4f(1, 0.2, 0.25, 0.34, 1);
      gl.uniform1f(this.u.u_round, 0); // gl_PointCoord means nothing for lines
      gl.uniform1f(this.u.u_size, 1);
      gl.drawArrays(gl.LINES, 0, this.boxVertices);
    }
    if (this.count > 0) {
      // Points shrink as the view fills up, so a million stay legible.
      const dpr = window.devicePixelRatio || 1;
      const size = Math.max(1, Math.min(5, Math.sqrt((width * height) / (dpr * dpr) / this.count) * 0.55)) * dpr;
      gl.uniform1f(this.u.u_size, size);
      gl.uniform1f(this.u.u_round, size >= 3 ? 1 : 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuffer);
      gl.enableVertexAttribArray(0);
      gl.vertexAttribPointer(0, this.dims, gl.FLOAT, false, 0, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuffer);
      gl.enableVertexAttribArray(1);
      gl.vertexAttribPointer(1, 4, gl.UNSIGNED_BYTE, true, 0, 0);
      gl.drawArrays(gl.POINTS, 0, this.count);
    }
  }
}
