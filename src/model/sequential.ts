import { ArgumentError, ShapeError, SimdcnnError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, memoryStats, type Tensor } from '../tensor.js';
import { accuracy, hinge, klDivergence, meanSquaredError, softmaxCrossEntropy, type LossFunction, type LossResult } from '../losses.js';
import { getOptimizer, type Optimizer } from '../optimizers.js';
import { Layer, seededRandom } from '../layers/layer.js';
import { layerFromConfig } from '../layers/index.js';

// The Sequential model: builds layers in order (shape inference with errors naming the layer),
// trains with mini-batches, predicts, evaluates, saves and loads. It knows no kernel: layers call
// ops, ops call kernels. Memory: in inference only the current layer's input and output are alive;
// in training the outputs of every layer and what each layer keeps for backward, until the step ends.

export interface SequentialOptions {
  /** Shape of one example, without the batch axis (e.g. [28, 28, 1]). */
  inputShape: number[];
  layers?: Layer[];
  /** Seed of weight initialisation and shuffling (default 1). */
  seed?: number;
}

export type LossName = 'softmaxCrossEntropy' | 'hinge' | 'squaredHinge' | 'meanSquaredError' | 'klDivergence';

const LOSSES: Record<LossName, LossFunction> = {
  softmaxCrossEntropy: (p, t, o) => softmaxCrossEntropy(p, t, o),
  hinge: (p, t, o) => hinge(p, t, { ...o, p: 1 }),
  squaredHinge: (p, t, o) => hinge(p, t, { ...o, p: 2 }),
  meanSquaredError: (p, t, o) => meanSquaredError(p, t, o),
  // klDivergence takes (target p, prediction q); the model passes (prediction, target).
  klDivergence: (p, t, o) => klDivergence(t, p, o),
};

export interface CompileOptions {
  optimizer: string | Optimizer;
  loss: LossName | LossFunction;
}

export interface BatchLogs { epoch: number; batch: number; batches: number; loss: number; accuracy: number }
export interface EpochLogs { epoch: number; loss: number; accuracy: number; valLoss?: number; valAccuracy?: number; seconds: number; imagesPerSecond: number }

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  validationData?: [Tensor, Tensor];
  /** 0 silent, 1 progress (a bar on a terminal, a line per epoch elsewhere). */
  verbose?: 0 | 1;
  /** Return false (or call model.stop()) to stop training after this batch. */
  onBatchEnd?: (logs: BatchLogs) => void | boolean | Promise<void | boolean>;
  onEpochEnd?: (logs: EpochLogs) => void | boolean | Promise<void | boolean>;
}

export interface History { epochs: EpochLogs[] }

export interface SavedModel {
  topology: {
    format: 'simdcnn-sequential';
    version: 1;
    inputShape: number[];
    layers: Array<{ type: string; name: string; config: Record<string, unknown> }>;
    weights: Array<{ layer: string; name: string; shape: number[]; offset: number }>;
  };
  /** All parameters, float32 little-endian, at the offsets (bytes) the topology lists. */
  weights: ArrayBuffer;
}

export interface MemoryReport { parameters: number; gradients: number; optimizerState: number; activations: number; total: number }

export class Sequential {
  readonly inputShape: number[];
  readonly layers: Layer[] = [];
  private optimizer: Optimizer | null = null;
  private lossFn: LossFunction | null = null;
  private readonly random: () => number;
  private stopRequested = false;
  private names = new Map<string, number>();
  /** Live tensor bytes measured at the peak of the last training step (after loss, before backward). */
  lastStepPeakBytes = 0;

  constructor(options: SequentialOptions) {
    if (!options || !Array.isArray(options.inputShape) || !options.inputShape.length || options.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ArgumentError(`sequential: inputShape must be an array of positive integers (one example, no batch axis), got ${JSON.stringify(options?.inputShape)}`);
    }
    this.inputShape = options.inputShape.slice();
    this.random = seededRandom(options.seed ?? 1);
    try {
      for (const l of options.layers ?? []) this.add(l);
    } catch (e) {
      // The model is never handed out: free what the layers built so far allocated.
      this.dispose();
      throw e;
    }
  }

  /** Output shape of one example (without batch). */
  get outputShape(): number[] {
    return this.layers.length ? this.layers[this.layers.length - 1].outputShape : this.inputShape;
  }

  /** Append a layer: builds it for the current output shape (errors name the layer). */
  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new ArgumentError(`Sequential.add: expected a layer (from layers.*), got ${String(layer)}`);
    if (!layer.name) {
      const n = (this.names.get(layer.type) ?? 0) + 1;
      this.names.set(layer.type, n);
      layer.name = `${layer.type}_${n}`;
    }
    if (this.layers.some((l) => l.name === layer.name)) throw new ArgumentError(`Sequential.add: a layer named '${layer.name}' already exists`);
    const input = this.outputShape;
    layer.inputShape = input.slice();
    try {
      layer.outputShape = layer.build(input.slice(), this.random);
    } catch (e) {
      layer.dispose();
      if (e instanceof SimdcnnError && !e.message.includes(`'${layer.name}'`)) e.message = `layer '${layer.name}' (${layer.type}) on input ${fmtShape(input)}: ${e.message}`;
      throw e;
    }
    this.layers.push(layer);
    return this;
  }

  /** Trainable parameter count. */
  countParams(): number {
    return this.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  /** The summary table (also printed unless `print: false`). */
  summary(options: { print?: boolean } = {}): string {
    const rows: string[][] = [['Layer (type)', 'Output shape', 'Params'], ['input', fmtShape(['batch', ...this.inputShape] as never), '0']];
    for (const l of this.layers) rows.push([`${l.name} (${l.type})`, fmtShape(['batch', ...l.outputShape] as never), l.countParams().toLocaleString('en-US')]);
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r: string[]) => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padStart(widths[2])}`;
    const rule = '-'.repeat(widths[0] + widths[1] + widths[2] + 4);
    const text = [rule, line(rows[0]), rule, ...rows.slice(1).map(line), rule, `Total params: ${this.countParams().toLocaleString('en-US')}`, rule].join('\n');
    if (options.print ?? true) console.log(text);
    return text;
  }

  /** Choose the optimizer (name or instance) and the loss (name or function). */
  compile(options: CompileOptions): this {
    if (!options || typeof options !== 'object') throw new ArgumentError('compile: options { optimizer, loss } are required');
    const { loss } = options;
    if (typeof loss === 'function') this.lossFn = loss;
    else if (typeof loss === 'string' && loss in LOSSES) this.lossFn = LOSSES[loss as LossName];
    else throw new ArgumentError(`compile: loss must be a function or one of ${Object.keys(LOSSES).join(', ')}, got ${JSON.stringify(loss)}`);
    this.optimizer?.dispose();
    this.optimizer = getOptimizer(options.optimizer, 'compile');
    return this;
  }

  /** The optimizer set by compile (to change its learning rate between epochs, for example). */
  getOptimizer(): Optimizer | null {
    return this.optimizer;
  }

  /** Bytes needed for a batch: parameters, gradients and optimizer state (training), activations. */
  memory(options: { batchSize: number; training?: boolean }): MemoryReport {
    const n = options?.batchSize;
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`memory: batchSize must be a positive integer, got ${JSON.stringify(n)}`);
    const training = options.training ?? false;
    const bytes = (shape: number[]) => n * shape.reduce((a, b) => a * b, 1) * 4;
    const parameters = this.countParams() * 4;
    const params = this.layers.flatMap((l) => l.params);
    const gradients = training ? parameters : 0;
    const optimizerState = training && this.optimizer ? this.optimizer.stateBytes(params) : 0;
    let activations: number;
    if (training) {
      // Input and label batches, every layer's output and cache, and the loss gradient.
      activations = bytes(this.inputShape) + n * 4 * this.labelWidth() + bytes(this.outputShape);
      for (const l of this.layers) activations += bytes(l.outputShape) + l.cacheBytes(n);
    } else {
      activations = bytes(this.inputShape);
      let prev = bytes(this.inputShape);
      for (const l of this.layers) {
        const out = bytes(l.outputShape);
        activations = Math.max(activations, prev + out);
        prev = out;
      }
    }
    return { parameters, gradients, optimizerState, activations, total: parameters + gradients + optimizerState + activations };
  }

  private labelWidthHint = 1;
  private labelWidth(): number { return this.labelWidthHint; }

  /** Run the model on x [N, ...inputShape] in batches; returns [N, ...outputShape]. */
  predict(x: Tensor, options: { batchSize?: number } = {}): Tensor {
    this.checkInput('predict', x);
    const N = x.shape[0];
    const batchSize = options.batchSize ?? 256;
    const out = empty([N, ...this.outputShape]);
    const per = this.outputShape.reduce((a, b) => a * b, 1) * 4;
    for (let start = 0; start < N; start += batchSize) {
      const count = Math.min(batchSize, N - start);
      const xb = start === 0 && count === N ? x : sliceRows(x, start, count);
      const y = this.forward(xb, false);
      rt().heap.u8().copyWithin(out.ptr + start * per, y.ptr, y.ptr + count * per);
      if (y !== xb) y.dispose();
      if (xb !== x) xb.dispose();
    }
    return out;
  }

  /** Mean loss and accuracy over x, y (in batches). */
  evaluate(x: Tensor, y: Tensor, options: { batchSize?: number } = {}): { loss: number; accuracy: number } {
    this.checkCompiled('evaluate');
    this.checkInput('evaluate', x);
    this.checkLabels('evaluate', x, y);
    const N = x.shape[0];
    const batchSize = options.batchSize ?? 256;
    let loss = 0, correct = 0;
    for (let start = 0; start < N; start += batchSize) {
      const count = Math.min(batchSize, N - start);
      const xb = sliceRows(x, start, count), yb = sliceRows(y, start, count);
      const out = this.forward(xb, false);
      const r = this.lossFn!(out, yb, { grad: false });
      loss += r.loss * count;
      correct += accuracy(out, yb) * count;
      for (const t of [xb, yb, out]) t.dispose();
    }
    return { loss: loss / N, accuracy: correct / N };
  }

  /** Ask a running fit to stop after the current batch. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Train on x [N, ...inputShape] and labels y (int32 [N] or float32 [N, ...outputShape]). */
  async fit(x: Tensor, y: Tensor, options: FitOptions = {}): Promise<History> {
    this.checkCompiled('fit');
    this.checkInput('fit', x);
    this.checkLabels('fit', x, y);
    const epochs = positiveInt('fit', 'epochs', options.epochs ?? 1);
    const batchSize = positiveInt('fit', 'batchSize', options.batchSize ?? 32);
    const shuffle = options.shuffle ?? true;
    const verbose = options.verbose ?? 1;
    if (options.validationData) {
      const [vx, vy] = options.validationData;
      this.checkInput('fit (validationData)', vx);
      this.checkLabels('fit (validationData)', vx, vy);
    }
    const N = x.shape[0];
    const batches = Math.ceil(N / batchSize);
    const history: History = { epochs: [] };
    const order = Int32Array.from({ length: N }, (_, i) => i);
    const bar = verbose ? new Progress(batches) : null;
    this.stopRequested = false;
    let lastYield = now();
    for (let epoch = 1; epoch <= epochs && !this.stopRequested; epoch++) {
      if (shuffle) {
        for (let i = N - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          const t = order[i]; order[i] = order[j]; order[j] = t;
        }
      }
      const t0 = now();
      let lossSum = 0, correct = 0, seen = 0;
      bar?.start(epoch, epochs);
      for (let b = 0; b < batches && !this.stopRequested; b++) {
        const idx = order.subarray(b * batchSize, Math.min(N, (b + 1) * batchSize));
        const xb = gatherRows(x, idx), yb = gatherRows(y, idx);
        const { loss, acc } = this.trainStep(xb, yb);
        xb.dispose();
        yb.dispose();
        lossSum += loss * idx.length;
        correct += acc * idx.length;
        seen += idx.length;
        bar?.update(b + 1, lossSum / seen, correct / seen, seen / ((now() - t0) / 1000));
        const logs: BatchLogs = { epoch, batch: b, batches, loss, accuracy: acc };
        if (options.onBatchEnd && (await options.onBatchEnd(logs)) === false) this.stopRequested = true;
        // Yield to the event loop now and then, so a browser tab stays responsive.
        if (now() - lastYield > 16) {
          await yieldToEventLoop();
          lastYield = now();
        }
      }
      const seconds = (now() - t0) / 1000;
      const logs: EpochLogs = { epoch, loss: lossSum / Math.max(seen, 1), accuracy: correct / Math.max(seen, 1), seconds, imagesPerSecond: seen / seconds };
      if (options.validationData) {
        const v = this.evaluate(options.validationData[0], options.validationData[1]);
        logs.valLoss = v.loss;
        logs.valAccuracy = v.accuracy;
      }
      bar?.end(logs);
      history.epochs.push(logs);
      if (options.onEpochEnd && (await options.onEpochEnd(logs)) === false) this.stopRequested = true;
    }
    return history;
  }

  /** One step on a batch: forward, loss, backward, update. Returns the batch's loss and accuracy. */
  trainStep(xb: Tensor, yb: Tensor): { loss: number; acc: number } {
    this.checkCompiled('trainStep');
    this.labelWidthHint = yb.rank > 1 ? yb.size / yb.shape[0] : 1;
    const acts: Tensor[] = [];
    let h = xb;
    let result: LossResult | null = null;
    try {
      for (const l of this.layers) {
        h = l.forward(h, true);
        acts.push(h);
      }
      result = this.lossFn!(h, yb);
      this.lastStepPeakBytes = memoryStats().bytes;
      const acc = accuracy(h, yb);
      let dy = result.grads[0];
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const dx = this.layers[i].backward(dy, i > 0);
        dy.dispose();
        if (!dx) break;
        dy = dx;
      }
      const params: Tensor[] = [], grads: Tensor[] = [];
      for (const l of this.layers) {
        l.params.forEach((p, i) => {
          params.push(p);
          grads.push(l.grads[i]!);
        });
      }
      this.optimizer!.step(params, grads);
      return { loss: result.loss, acc };
    } finally {
      for (const l of this.layers) l.clearCache();
      for (const t of acts) if (!t.isDisposed) t.dispose();
      if (result) for (const g of result.grads) if (!g.isDisposed) g.dispose();
    }
  }

  /** Topology (JSON) and one weights buffer; `weightsOnly` gives just the buffer and its index. */
  save(options: { weightsOnly?: boolean } = {}): SavedModel | Pick<SavedModel, 'weights'> & { index: SavedModel['topology']['weights'] } {
    const index: SavedModel['topology']['weights'] = [];
    let offset = 0;
    for (const l of this.layers) l.params.forEach((p, i) => { index.push({ layer: l.name, name: l.paramNames[i], shape: p.shape.slice(), offset }); offset += p.bytes; });
    const weights = new ArrayBuffer(offset);
    const f = new Float32Array(weights);
    let at = 0;
    for (const l of this.layers) for (const p of l.params) { f.set(p.view(), at); at += p.size; }
    if (options.weightsOnly) return { weights, index };
    return {
      topology: {
        format: 'simdcnn-sequential',
        version: 1,
        inputShape: this.inputShape.slice(),
        layers: this.layers.map((l) => ({ type: l.type, name: l.name, config: l.getConfig() })),
        weights: index,
      },
      weights,
    };
  }

  /** Copy weights from a buffer laid out as `save()` writes it (checks length and shapes). */
  setWeights(weights: ArrayBuffer | ArrayBufferView, index?: SavedModel['topology']['weights']): void {
    const buf = weights instanceof ArrayBuffer ? weights : weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
    const params = this.layers.flatMap((l) => l.params.map((p, i) => ({ l, p, name: l.paramNames[i] })));
    const want = params.reduce((s, e) => s + e.p.bytes, 0);
    if (!(buf instanceof ArrayBuffer) || buf.byteLength !== want) {
      throw new ShapeError(`loadModel: the weights hold ${(buf as ArrayBuffer).byteLength} bytes but the model's ${params.length} parameters need ${want}${(buf as ArrayBuffer).byteLength < want ? ' (truncated file?)' : ''}`);
    }
    let offset = 0;
    params.forEach(({ l, p, name }, i) => {
      const e = index?.[i];
      if (index && (!e || e.layer !== l.name || e.name !== name || e.offset !== offset || e.shape.join() !== p.shape.join())) {
        throw new ShapeError(`loadModel: weight ${i} should be ${l.name}/${name} ${fmtShape(p.shape)} at byte ${offset}, the file says ${e ? `${e.layer}/${e.name} ${fmtShape(e.shape)} at byte ${e.offset}` : 'nothing'}`);
      }
      p.view().set(new Float32Array(buf, offset, p.size));
      p.version++;
      offset += p.bytes;
    });
  }

  /** Free every parameter, gradient and the optimizer's state. */
  dispose(): void {
    for (const l of this.layers) l.dispose();
    this.optimizer?.dispose();
  }

  private forward(x: Tensor, training: boolean): Tensor {
    let h = x;
    for (const l of this.layers) {
      const next = l.forward(h, training);
      if (h !== x && h !== next) h.dispose();
      h = next;
    }
    return h === x ? copyTensor(x) : h;
  }

  private checkCompiled(op: string): void {
    if (!this.optimizer || !this.lossFn) throw new ArgumentError(`${op}: call model.compile({ optimizer, loss }) first`);
  }

  private checkInput(op: string, x: Tensor): void {
    x?.check?.(op, 'x');
    const want = this.inputShape;
    if (!x || x.rank !== want.length + 1 || x.shape.slice(1).some((d, i) => d !== want[i])) {
      throw new ShapeError(`${op}: x must be [N, ${want.join(', ')}] for this model, got ${x ? fmtShape(x.shape) : String(x)}`);
    }
    if (x.dtype !== 'float32') throw new ShapeError(`${op}: x must be float32, got ${x.dtype}`);
  }

  private checkLabels(op: string, x: Tensor, y: Tensor): void {
    y?.check?.(op, 'y');
    if (!y || y.shape[0] !== x.shape[0]) throw new ShapeError(`${op}: y must have the same batch size as x (${x.shape[0]}), got ${y ? fmtShape(y.shape) : String(y)}`);
  }
}

/** `sequential({ inputShape, layers })`. */
export function sequential(options: SequentialOptions): Sequential {
  return new Sequential(options);
}

/** Rebuild a model saved by `save()`; the weights are copied in (typed arrays, no slowdown). */
export function loadModel(saved: SavedModel, options: { seed?: number } = {}): Sequential {
  const t = saved?.topology;
  if (!t || t.format !== 'simdcnn-sequential' || t.version !== 1 || !Array.isArray(t.layers)) {
    throw new ArgumentError(`loadModel: not a saved simdcnn Sequential model (format ${JSON.stringify(t?.format)}, version ${JSON.stringify(t?.version)})`);
  }
  const model = new Sequential({ inputShape: t.inputShape, seed: options.seed });
  try {
    for (const l of t.layers) model.add(layerFromConfig(l.type, l.config, l.name));
    model.setWeights(saved.weights, t.weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

// ---- helpers ----

function positiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

function rowBytes(x: Tensor): number {
  return x.shape[0] ? x.bytes / x.shape[0] : 0;
}

/** Rows idx of x (any rank, rows on axis 0) as a new tensor. */
function gatherRows(x: Tensor, idx: Int32Array): Tensor {
  const y = empty([idx.length, ...x.shape.slice(1)], x.dtype);
  const rb = rowBytes(x);
  const u8 = rt().heap.u8();
  for (let i = 0; i < idx.length; i++) u8.copyWithin(y.ptr + i * rb, x.ptr + idx[i] * rb, x.ptr + (idx[i] + 1) * rb);
  return y;
}

function sliceRows(x: Tensor, start: number, count: number): Tensor {
  const y = empty([count, ...x.shape.slice(1)], x.dtype);
  const rb = rowBytes(x);
  rt().heap.u8().copyWithin(y.ptr, x.ptr + start * rb, x.ptr + (start + count) * rb);
  return y;
}

function copyTensor(x: Tensor): Tensor {
  const y = empty(x.shape, x.dtype);
  rt().heap.u8().copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
  return y;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate!(r));
  if (typeof MessageChannel !== 'undefined') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); r(); };
      ch.port2.postMessage(0);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}

/** Progress: a redrawn bar on a terminal, one line per epoch elsewhere (CI logs, browsers). */
class Progress {
  private readonly tty: boolean;
  private epochLabel = '';
  private lastDraw = 0;
  constructor(private readonly batches: number) {
    const p = (globalThis as { process?: { stdout?: { isTTY?: boolean; write?: unknown } } }).process;
    this.tty = !!(p?.stdout?.isTTY && typeof p.stdout.write === 'function');
  }
  start(epoch: number, epochs: number): void { this.epochLabel = `epoch ${epoch}/${epochs}`; }
  update(done: number, loss: number, acc: number, ips: number): void {
    if (!this.tty) return;
    const t = now();
    if (done !== this.batches && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const width = 30, filled = Math.round((done / this.batches) * width);
    const bar = '='.repeat(Math.max(filled - 1, 0)) + (filled ? '>' : '') + ' '.repeat(width - filled);
    write(`\r${this.epochLabel} [${bar}] ${done}/${this.batches}  loss ${loss.toFixed(4)}  acc ${acc.toFixed(4)}  ${Math.round(ips)} img/s `);
  }
  end(l: EpochLogs): void {
    const val = l.valAccuracy !== undefined ? `  val_loss ${l.valLoss!.toFixed(4)}  val_acc ${l.valAccuracy.toFixed(4)}` : '';
    const line = `${this.epochLabel}  loss ${l.loss.toFixed(4)}  acc ${l.accuracy.toFixed(4)}${val}  ${l.seconds.toFixed(1)} s  ${Math.round(l.imagesPerSecond)} img/s`;
    if (this.tty) write(`\r${line}${' '.repeat(20)}\n`);
    else console.log(line);
  }
}

function write(s: string): void {
  (globalThis as unknown as { process: { stdout: { write(s: string): void } } }).process.stdout.write(s);
}

