// The demo page: draw a digit, a LeNet-5 (trained by `npm run mnist`, shipped in demo/model/)
// classifies it live; the page shows the 10 softmax probabilities, the feature maps of conv1 and
// conv2 for the drawing and the learned 5×5 kernels. No framework, no network access besides this
// page's own files: the wasm kernels are embedded in the bundle.
import { init, loadModel, tensor, tidy, softmax, Context, type Layer, type Model, type SavedModel } from '../src/index.ts';
import { mnistPreprocess, normalise, SIZE, type Preprocessed } from './preprocess.ts';

/** What classify returns (and `window.demo` exposes, for the test). */
export interface Classification {
  /** The predicted class, or null when the pad is blank. */
  label: number | null;
  probs: number[];
  /** Forward pass (every layer, softmax, copies out) in milliseconds. */
  ms: number;
}

const PAD = 280;
const STROKE = 22;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
};

let model: Model;
let conv1: Layer, conv2: Layer;
let conv1Index = 0, conv2Index = 0;
const pad = $<HTMLCanvasElement>('pad');
const padCtx = pad.getContext('2d', { willReadFrequently: true })!;
const inputCanvas = $<HTMLCanvasElement>('input');
const bars: Array<{ li: HTMLElement; fill: HTMLElement; pct: HTMLElement }> = [];
const conv1Maps: HTMLCanvasElement[] = [];
const conv2Maps: HTMLCanvasElement[] = [];
let strokes = 0;

// ---- drawing ----

function clearPad(): void {
  padCtx.fillStyle = '#000';
  padCtx.fillRect(0, 0, PAD, PAD);
}

function setupDrawing(): void {
  clearPad();
  padCtx.strokeStyle = '#fff';
  padCtx.fillStyle = '#fff';
  padCtx.lineWidth = STROKE;
  padCtx.lineCap = 'round';
  padCtx.lineJoin = 'round';
  let last: { x: number; y: number } | null = null;
  let pending = false;
  const schedule = (): void => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      classify();
    });
  };
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = pad.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * PAD) / r.width, y: ((e.clientY - r.top) * PAD) / r.height };
  };
  pad.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    last = at(e);
    padCtx.fillStyle = '#fff';
    padCtx.beginPath();
    padCtx.arc(last.x, last.y, STROKE / 2, 0, 2 * Math.PI);
    padCtx.fill();
    schedule();
  });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    e.preventDefault();
    // Coalesced events give a smooth line when the pointer moves fast.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    padCtx.beginPath();
    padCtx.moveTo(last.x, last.y);
    for (const ev of events.length ? events : [e]) {
      last = at(ev);
      padCtx.lineTo(last.x, last.y);
    }
    padCtx.stroke();
    schedule();
  });
  const end = (e: PointerEvent): void => {
    if (!last) return;
    last = null;
    if (pad.hasPointerCapture(e.pointerId)) pad.releasePointerCapture(e.pointerId);
    strokes++;
    classify();
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  $('clear').addEventListener('click', () => {
    clearPad();
    strokes++;
    classify();
  });
}

// ---- network ----

/** Run the layers one by one on a 28×28 image in [0, 1]; keep conv1's and conv2's outputs. */
function forward(image: Float32Array): { probs: Float32Array; maps1: Float32Array; maps2: Float32Array; ms: number } {
  let probs!: Float32Array, maps1!: Float32Array, maps2!: Float32Array;
  const t0 = performance.now();
  tidy(() => {
    let h = tensor(normalise(image), [1, SIZE, SIZE, 1]);
    model.layers.forEach((layer, i) => {
      h = layer.forward([h], new Context(false));
      if (i === conv1Index) maps1 = h.toArray() as Float32Array;
      if (i === conv2Index) maps2 = h.toArray() as Float32Array;
    });
    probs = softmax(h).toArray() as Float32Array;
  });
  return { probs, maps1, maps2, ms: performance.now() - t0 };
}

/** Classify what is on the pad now and redraw everything below it. */
function classify(): Classification {
  const pre = mnistPreprocess(padCtx.getImageData(0, 0, PAD, PAD));
  const result = pre ? show(pre) : showBlank();
  const verdict = $('prediction');
  verdict.dataset.stroke = String(strokes);
  verdict.dataset.label = result.label === null ? '' : String(result.label);
  return result;
}

function show(pre: Preprocessed): Classification {
  const { probs, maps1, maps2, ms } = forward(pre.image);
  let label = 0;
  for (let i = 1; i < 10; i++) if (probs[i] > probs[label]) label = i;
  drawGrey(inputCanvas, pre.image, SIZE, SIZE, 1, 0, 1);
  drawMaps(conv1Maps, maps1, conv1.outputShape);
  drawMaps(conv2Maps, maps2, conv2.outputShape);
  bars.forEach((b, i) => {
    const p = probs[i];
    b.fill.style.width = `${(p * 100).toFixed(2)}%`;
    b.pct.textContent = formatPct(p);
    b.li.classList.toggle('best', i === label);
  });
  $('prediction').textContent = String(label);
  $('prediction').classList.remove('blank');
  $('confidence').textContent = `${formatPct(probs[label])} sure`;
  $('timing').textContent = `forward pass ${ms.toFixed(1)} ms`;
  return { label, probs: Array.from(probs), ms };
}

function showBlank(): Classification {
  const zeros = (n: number): Float32Array => new Float32Array(n);
  drawGrey(inputCanvas, zeros(SIZE * SIZE), SIZE, SIZE, 1, 0, 1);
  drawMaps(conv1Maps, zeros(conv1.outputShape.reduce((a, b) => a * b, 1)), conv1.outputShape);
  drawMaps(conv2Maps, zeros(conv2.outputShape.reduce((a, b) => a * b, 1)), conv2.outputShape);
  for (const b of bars) {
    b.fill.style.width = '0';
    b.pct.textContent = '';
    b.li.classList.remove('best');
  }
  $('prediction').textContent = '?';
  $('prediction').classList.add('blank');
  $('confidence').textContent = 'draw a digit';
  $('timing').textContent = '';
  return { label: null, probs: [], ms: 0 };
}

function formatPct(p: number): string {
  const v = p * 100;
  return v >= 99.95 ? '100%' : v >= 0.1 ? `${v.toFixed(1)}%` : v >= 0.005 ? `${v.toFixed(2)}%` : '0%';
}

// ---- pictures ----

/**
 * Draw `w`×`h` values, taken at stride `stride` from `offset`, as greys: `lo` black, `hi` white.
 */
function drawGrey(canvas: HTMLCanvasElement, values: ArrayLike<number>, w: number, h: number, stride: number, offset: number, hi: number, lo = 0): void {
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  const span = hi - lo || 1;
  for (let i = 0; i < w * h; i++) {
    const g = Math.round(255 * Math.max(0, Math.min(1, (values[offset + i * stride] - lo) / span)));
    img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = g;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** NHWC [1, H, W, C] maps, one canvas per channel, all on one scale (0 black, the layer's max white). */
function drawMaps(canvases: HTMLCanvasElement[], data: Float32Array, [H, W, C]: number[]): void {
  let max = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
  for (let c = 0; c < C; c++) drawGrey(canvases[c], data, W, H, C, c, max || 1);
}

/** The kernel of a conv layer, HWIO [5, 5, Cin, Cout], and the largest |weight|. */
function kernelOf(layer: Layer): { k: Float32Array; shape: readonly number[]; absMax: number } {
  const p = layer.params[layer.paramNames.indexOf('kernel')];
  const k = p.toArray() as Float32Array;
  let absMax = 0;
  for (let i = 0; i < k.length; i++) absMax = Math.max(absMax, Math.abs(k[i]));
  return { k, shape: p.shape, absMax };
}

/** Kernel (ci → co) of an HWIO tensor as a kh×kw image: mid grey 0, white +absMax, black −absMax. */
function drawKernel(canvas: HTMLCanvasElement, { k, shape, absMax }: ReturnType<typeof kernelOf>, ci: number, co: number, top = 0): void {
  const [kh, kw, cin, cout] = shape;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(kw, kh);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const v = k[((y * kw + x) * cin + ci) * cout + co];
      const g = Math.round(255 * (0.5 + (0.5 * v) / absMax));
      const o = (y * kw + x) * 4;
      img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, top);
}

function canvas(w: number, h: number, cls: string, title?: string): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  c.className = cls;
  if (title) c.title = title;
  return c;
}

function el(tag: string, cls: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function buildBars(): void {
  const list = $('bars');
  for (let i = 0; i < 10; i++) {
    const li = el('li', 'bar');
    const track = el('span', 'track');
    const fill = el('span', 'fill');
    const pct = el('span', 'pct');
    track.append(fill);
    li.append(el('span', 'label', String(i)), track, pct);
    list.append(li);
    bars.push({ li, fill, pct });
  }
}

/** conv1: one column per filter (its 5×5 kernel above its 28×28 map). */
function buildConv1(): void {
  const kern = kernelOf(conv1);
  const [, , , cout] = kern.shape;
  const [H, W] = conv1.outputShape;
  const root = $('conv1');
  for (let co = 0; co < cout; co++) {
    const col = el('figure', 'col');
    const kc = canvas(kern.shape[1], kern.shape[0], 'kernel', `conv1 kernel ${co}`);
    drawKernel(kc, kern, 0, co);
    const mc = canvas(W, H, 'map', `conv1 map ${co}`);
    conv1Maps.push(mc);
    col.append(kc, mc, el('figcaption', '', `#${co}`));
    root.append(col);
  }
}

/** conv2: one column per filter (its 10×10 map above its six 5×5 kernels, one per input map). */
function buildConv2(): void {
  const kern = kernelOf(conv2);
  const [kh, kw, cin, cout] = kern.shape;
  const [H, W] = conv2.outputShape;
  const root = $('conv2');
  const gap = 1;
  for (let co = 0; co < cout; co++) {
    const col = el('figure', 'col');
    const mc = canvas(W, H, 'map', `conv2 map ${co}`);
    conv2Maps.push(mc);
    // The cin kernels stacked in one canvas, a 1-pixel gap (the card's colour) between them.
    const kc = canvas(kw, cin * kh + (cin - 1) * gap, 'kernels', `conv2 kernels into map ${co} (rows: input maps 0–${cin - 1})`);
    const ctx = kc.getContext('2d')!;
    ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('--card').trim() || '#161b22';
    ctx.fillRect(0, 0, kc.width, kc.height);
    for (let ci = 0; ci < cin; ci++) drawKernel(kc, kern, ci, co, ci * (kh + gap));
    col.append(mc, kc, el('figcaption', '', `#${co}`));
    root.append(col);
  }
}

// ---- start ----

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (train with \`npm run mnist -- --out demo/model\`)`);
  return r;
}

async function start(): Promise<{ backend: string; params: number }> {
  const status = $('status');
  try {
    const backend = await init();
    const [topology, weights] = await Promise.all([
      fetchOk('model/model.json').then((r) => r.json() as Promise<SavedModel['topology']>),
      fetchOk('model/weights.bin').then((r) => r.arrayBuffer()),
    ]);
    model = loadModel({ topology, weights });
    const convs = model.layers.map((l, i) => [l, i] as const).filter(([l]) => l.type === 'conv2d');
    if (convs.length < 2) throw new Error('the model has fewer than two conv2d layers: not the LeNet-5 of `npm run mnist`');
    [[conv1, conv1Index], [conv2, conv2Index]] = convs;
    buildBars();
    buildConv1();
    buildConv2();
    setupDrawing();
    showBlank();
    const params = model.countParams();
    status.textContent = `LeNet-5 · ${params.toLocaleString('en-US')} parameters · wasm build: ${backend}`;
    status.classList.add('ok');
    return { backend, params };
  } catch (e) {
    status.textContent = `Could not start: ${(e as Error).message}`;
    status.classList.add('error');
    throw e;
  }
}

declare global {
  interface Window {
    demo: {
      ready: Promise<{ backend: string; params: number }>;
      /** Classify what the pad shows (the page's own path: pixels → preprocessing → network → display). */
      classify: () => Classification;
      clear: () => void;
      pad: HTMLCanvasElement;
    };
  }
}

window.demo = {
  ready: start(),
  classify,
  clear: () => {
    clearPad();
    classify();
  },
  pad,
};
