// The demo page. Draw view: draw a digit, a LeNet-5 (trained by `npm run mnist`, shipped in
// demo/model/) classifies it live; the page shows the 10 softmax probabilities, the feature maps of
// the first two convolutions for the drawing and their learned kernels. Train view (train.ts): train
// a model in a Worker on MNIST served by the demo itself; the Draw view then uses it, and it can be
// downloaded or kept in IndexedDB for the next visit. No framework, no network access besides this
// page's own files: the wasm kernels are embedded in the bundle.
import { init, loadModel, tensor, tidy, softmax, Context, NotFoundError, type Layer, type Model, type SavedModel } from '../src/index.ts';
import { mnistPreprocess, normalise, SIZE, type Preprocessed } from './preprocess.ts';
import { setupTrainView, type TrainingInfo, type TrainResult } from './train.ts';

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

/** Where the model in use comes from: the shipped files, the Train view, or IndexedDB (kept on an earlier visit). */
export type ModelSource = 'shipped' | 'trained' | 'kept';
export interface ModelInfo { source: ModelSource; label: string; detail: string; params: number; file: string }

/** The IndexedDB entry the Keep button writes and the page loads at start; its description in localStorage. */
const KEPT = 'indexeddb://simdcnn-demo';
const KEPT_INFO = 'simdcnn-demo:kept';

let model: Model;
let current: ModelInfo;
let backendName = '';
/** The first two conv2d layers (null for a model without), and the layers whose outputs are shown: the activation after each, if any. */
let conv1: Layer | null = null, conv2: Layer | null = null;
let maps1Index = -1, maps2Index = -1;
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
      if (i === maps1Index) maps1 = h.toArray() as Float32Array;
      if (i === maps2Index) maps2 = h.toArray() as Float32Array;
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
  if (maps1) drawMaps(conv1Maps, maps1, model.layers[maps1Index].outputShape);
  if (maps2) drawMaps(conv2Maps, maps2, model.layers[maps2Index].outputShape);
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
  for (const [maps, i] of [[conv1Maps, maps1Index], [conv2Maps, maps2Index]] as const) {
    if (i >= 0) drawMaps(maps, zeros(model.layers[i].outputShape.reduce((a, b) => a * b, 1)), model.layers[i].outputShape);
  }
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

/** conv1: one column per filter (its kernel above its map). */
function buildConv1(conv1: Layer, [H, W]: readonly number[]): void {
  const kern = kernelOf(conv1);
  const [kh, kw, , cout] = kern.shape;
  const root = $('conv1');
  root.replaceChildren();
  conv1Maps.length = 0;
  root.classList.toggle('many', cout > 6); // smaller columns, so 8 filters still fit on one row
  $('conv1-about').textContent = `${cout} learned ${kh}×${kw} kernels (grey 0, white +, black −) and the ${H}×${W} maps they make of your digit (after ReLU)`;
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

/** conv2: one column per filter (its map above its kernels, one per input map). */
function buildConv2(conv2: Layer, [H, W]: readonly number[]): void {
  const kern = kernelOf(conv2);
  const [kh, kw, cin, cout] = kern.shape;
  const root = $('conv2');
  root.replaceChildren();
  conv2Maps.length = 0;
  $('conv2-about').textContent = `${cout} maps ${H}×${W} (after ReLU) of the pooled conv1 maps; beneath each, its ${cin} ${kh}×${kw} kernels, one per conv1 map`;
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
    kc.style.height = `${(30 * kc.height) / kc.width}px`; // 30 px wide (style.css), kernels square
    col.append(mc, kc, el('figcaption', '', `#${co}`));
    root.append(col);
  }
}

// ---- the model in use ----

const ACTIVATIONS = new Set(['activation', 'relu', 'relu6', 'leakyRelu', 'prelu', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'swish', 'silu', 'hardSwish', 'gelu']);

/**
 * Put a model in the Draw view (the previous one is disposed). The models of this page are chains,
 * run layer by layer; the maps shown are those of the first two conv2d layers (after their
 * activation, fused or a layer of its own); a model without convolutions shows none.
 */
function useModel(next: Model, info: Omit<ModelInfo, 'params'>): void {
  const layers = next.layers;
  const convs = layers.map((l, i) => [l, i] as const).filter(([l]) => l.type === 'conv2d');
  const shown = (i: number): number => (i + 1 < layers.length && ACTIVATIONS.has(layers[i + 1].type) ? i + 1 : i);
  const old = model;
  model = next;
  old?.dispose();
  [conv1, conv2] = [convs[0]?.[0] ?? null, convs[1]?.[0] ?? null];
  maps1Index = conv1 ? shown(convs[0][1]) : -1;
  maps2Index = conv2 ? shown(convs[1][1]) : -1;
  $('conv1-card').hidden = !conv1;
  $('conv2-card').hidden = !conv2;
  if (conv1) buildConv1(conv1, layers[maps1Index].outputShape);
  if (conv2) buildConv2(conv2, layers[maps2Index].outputShape);
  current = { ...info, params: next.countParams() };
  const status = $('status');
  status.textContent = `${current.label} · ${current.params.toLocaleString('en-US')} parameters · wasm build: ${backendName}`;
  status.className = 'status ok';
  showModelBar();
  clearPad();
  strokes++;
  classify();
}

function showModelBar(): void {
  const bar = $('model-bar');
  bar.dataset.source = current.source;
  $('model-detail').textContent = current.detail;
  $('keep').hidden = current.source !== 'trained';
  $('use-shipped').hidden = current.source === 'shipped';
  $('use-shipped').textContent = current.source === 'kept' ? 'Forget it, use the shipped LeNet-5' : 'Use the shipped LeNet-5';
  $('download-onnx').hidden = typeof (model as unknown as { toOnnx?: unknown }).toOnnx !== 'function';
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (train with \`npm run mnist -- --out demo/model\`)`);
  return r;
}

async function loadShipped(): Promise<void> {
  const [topology, weights] = await Promise.all([
    fetchOk('model/model.json').then((r) => r.json() as Promise<SavedModel['topology']>),
    fetchOk('model/weights.bin').then((r) => r.arrayBuffer()),
  ]);
  const m = loadModel({ topology, weights });
  if (m.layers.filter((l) => l.type === 'conv2d').length < 2) throw new Error('the model has fewer than two conv2d layers: not the LeNet-5 of `npm run mnist`');
  useModel(m, { source: 'shipped', label: 'LeNet-5', detail: 'The shipped LeNet-5 (npm run mnist: 12 epochs, 99.36% of the MNIST test digits).', file: 'lenet5' });
}

/** A model kept on an earlier visit, or false when there is none (or it cannot be read: then say so and use the shipped one). */
async function loadKept(): Promise<boolean> {
  let m: Model;
  try {
    m = await loadModel(KEPT);
  } catch (e) {
    if (!(e instanceof NotFoundError)) console.warn(`demo: the model kept in IndexedDB could not be loaded, using the shipped one: ${(e as Error).message}`);
    return false;
  }
  let about: { label?: string; detail?: string; file?: string } = {};
  try {
    about = JSON.parse(localStorage.getItem(KEPT_INFO) ?? '{}') as typeof about;
  } catch { /* no description: the generic one below */ }
  useModel(m, { source: 'kept', label: about.label ?? 'Your model', detail: `Kept in this browser: ${about.detail ?? 'trained here on an earlier visit.'}`, file: about.file ?? 'model' });
  return true;
}

/**
 * Remove the kept model. simdcnn has no delete call, so this opens the store model.save('indexeddb://…')
 * writes (database 'simdcnn', object store 'models', documented in src/io/artifacts.ts) and deletes the key.
 */
function forgetKept(): Promise<void> {
  localStorage.removeItem(KEPT_INFO);
  return new Promise((res, rej) => {
    const req = indexedDB.open('simdcnn', 1);
    req.onupgradeneeded = () => { req.result.createObjectStore('models'); };
    req.onerror = () => rej(new Error(`IndexedDB: ${req.error?.message}`));
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction('models', 'readwrite');
      tx.objectStore('models').delete(KEPT.slice('indexeddb://'.length));
      tx.oncomplete = () => { db.close(); res(); };
      tx.onerror = tx.onabort = () => { db.close(); rej(new Error(`IndexedDB: ${tx.error?.message}`)); };
    };
  });
}

async function onTrained(r: TrainResult): Promise<void> {
  const epochs = r.epochs.length;
  const what = `${r.stopped ? `stopped in epoch ${epochs}` : `${epochs} epoch${epochs === 1 ? '' : 's'}`} on ${r.trainImages.toLocaleString('en-US')} digits`;
  useModel(loadModel(r.saved), {
    source: 'trained',
    label: `${r.label} (trained here)`,
    detail: `${r.label} trained in this tab: ${what}, ${(r.valAccuracy * 100).toFixed(2)}% of the 10,000 test digits, ${new Date().toLocaleString()}.`,
    file: `${r.model}-mnist`,
  });
}

/** Buttons of the model bar; each reports failures on the status line. */
function setupModelBar(): void {
  const act = (id: string, fn: () => Promise<void> | void): void => {
    const button = $<HTMLButtonElement>(id);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await fn();
      } catch (e) {
        $('model-detail').textContent = `${button.textContent}: ${(e as Error).message}`;
      } finally {
        button.disabled = false;
      }
    });
  };
  act('download', () => model.save(`downloads://simdcnn-${current.file}`));
  act('download-onnx', () => {
    const bytes = (model as unknown as { toOnnx: () => Uint8Array }).toOnnx();
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `simdcnn-${current.file}.onnx`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  act('keep', async () => {
    await model.save(KEPT);
    localStorage.setItem(KEPT_INFO, JSON.stringify({ label: current.label, detail: current.detail, file: current.file }));
    current = { ...current, source: 'kept', detail: `Kept in this browser: ${current.detail}` };
    showModelBar();
  });
  act('use-shipped', async () => {
    if (current.source === 'kept') await forgetKept();
    await loadShipped();
  });
}

function setupTabs(): void {
  const tabs = [['tab-draw', 'draw-view'], ['tab-train', 'train-view']] as const;
  const select = (which: string): void => {
    for (const [tab, view] of tabs) {
      $(tab).setAttribute('aria-selected', String(tab === which));
      $(view).hidden = tab !== which;
    }
    window.dispatchEvent(new Event('resize'));
  };
  for (const [tab] of tabs) $(tab).addEventListener('click', () => select(tab));
}

// ---- start ----

let training: TrainingInfo;

async function start(): Promise<{ backend: string; params: number; source: ModelSource }> {
  const status = $('status');
  try {
    backendName = await init();
    buildBars();
    setupDrawing();
    setupTabs();
    setupModelBar();
    training = setupTrainView(onTrained);
    if (!(await loadKept())) await loadShipped();
    return { backend: backendName, params: current.params, source: current.source };
  } catch (e) {
    status.textContent = `Could not start: ${(e as Error).message}`;
    status.classList.add('error');
    throw e;
  }
}

declare global {
  interface Window {
    demo: {
      ready: Promise<{ backend: string; params: number; source: ModelSource }>;
      /** Classify what the pad shows (the page's own path: pixels → preprocessing → network → display). */
      classify: () => Classification;
      clear: () => void;
      pad: HTMLCanvasElement;
      /** The model in use. */
      model: () => ModelInfo;
      /** The Train view's progress and result. */
      training: () => TrainingInfo;
      /** The library's loadModel, for the test (it reads what the README's example stored in IndexedDB). */
      loadModel: typeof loadModel;
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
  model: () => current,
  training: () => training,
  loadModel,
};
