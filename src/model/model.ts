import { ArgumentError, DisposedError, ShapeError, fmtShape } from '../errors.js';
import { copyRows, empty, gatherRows, memoryStats, sliceRows, type Tensor } from '../tensor.js';
import { getOptimizer, type BuiltinOptimizer, type Optimizer, type OptimizerConfig } from '../optimizers.js';
import type { Layer } from '../layers/layer.js';
import { seededRandom } from '../layers/initializers.js';
import { Graph } from './graph.js';
import { SymbolicTensor } from './symbolic.js';
import { fitSettings, positiveInt, resolveLoss, type LossName, type MetricName, type ModelLossFunction, type ResolvedLoss } from './training.js';
import { Progress, now, yieldToEventLoop } from './progress.js';
import { activationBytes, summaryTable } from './report.js';
import { inferencePlan, type InferencePlan } from './fuse.js';
import { packWeights, saveModel, unpackWeights, type SavedModel, type WeightsIndex } from './serialize.js';
import { toFullyConvolutional } from './fcn.js';
import { writeArtifacts } from '../io/artifacts.js';
import { exportOnnx } from '../io/onnx/export.js';

// A model is a directed acyclic graph of layers (the functional API); Sequential is the one-chain
// case of the same class. It builds the layers' weights from its seed, runs the graph for
// prediction and training, and owns the optimizer. Layers call ops; the model never calls a kernel.

export interface ModelOptions {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: SymbolicTensor | SymbolicTensor[];
  name?: string;
  /** Seed of weight initialisation, shuffling and dropout masks (default 1). */
  seed?: number;
}

export interface CompileOptions {
  optimizer: string | Optimizer;
  loss: LossName | ModelLossFunction;
  metrics?: MetricName[];
}

export interface BatchLogs { epoch: number; batch: number; batches: number; loss: number; accuracy?: number; [metric: string]: number | undefined }
export interface EpochLogs { epoch: number; loss: number; accuracy?: number; valLoss?: number; valAccuracy?: number; seconds: number; imagesPerSecond: number; [metric: string]: number | undefined }
export interface History { epochs: EpochLogs[] }

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  validationData?: [Tensor | Tensor[], Tensor | Tensor[]];
  /** 0 silent, 1 progress (a bar on a terminal, a line per epoch elsewhere). */
  verbose?: 0 | 1;
  /** Return false (or call model.stop()) to stop training after this batch. */
  onBatchEnd?: (logs: BatchLogs) => void | boolean | Promise<void | boolean>;
  onEpochEnd?: (logs: EpochLogs) => void | boolean | Promise<void | boolean>;
}

/** The mean loss and the metrics compile asked for (accuracy by default for classification). */
export interface EvaluateResult { loss: number; [metric: string]: number }

export interface MemoryReport { parameters: number; gradients: number; optimizerState: number; activations: number; total: number }

let modelCount = 0;

/** What predict returns: one Tensor, or an array when the model was built with an array of outputs. */
export type ModelOutput = Tensor | Tensor[];

export class Model<Out extends ModelOutput = Tensor> {
  readonly name: string;
  readonly inputs: SymbolicTensor[];
  readonly outputs: SymbolicTensor[];
  /** predict answers with an array (outputs were given as an array). */
  private readonly arrayOutputs: boolean;
  protected graph: Graph;
  protected readonly random: () => number;
  private optimizer: Optimizer | null = null;
  private loss: ResolvedLoss | null = null;
  private stopRequested = false;
  private fitting = false;
  private disposed = false;
  private plan: InferencePlan | null = null;
  /** Live tensor bytes at the peak of the last training step (after the loss, before backward). */
  lastStepPeakBytes = 0;
  /** Bytes of one example's targets in the last training step (int32 labels: 4 per output). */
  private targetRowBytes = 4;

  constructor(options: ModelOptions, kind = 'model') {
    if (!options || typeof options !== 'object') throw new ArgumentError(`${kind}: options { inputs, outputs } are required`);
    for (const k of Object.keys(options)) if (!['inputs', 'outputs', 'name', 'seed'].includes(k)) throw new ArgumentError(`${kind}: unknown option '${k}'; accepted: inputs, outputs, name, seed`);
    const list = (v: unknown, what: string): SymbolicTensor[] => {
      const a = Array.isArray(v) ? v : [v];
      if (!a.length || a.some((s) => !(s instanceof SymbolicTensor))) throw new ArgumentError(`${kind}: ${what} must be symbolic tensors (from input() and layer.apply()), got ${String(v)}`);
      return a as SymbolicTensor[];
    };
    this.inputs = list(options.inputs, 'inputs');
    this.outputs = list(options.outputs, 'outputs');
    this.arrayOutputs = Array.isArray(options.outputs);
    this.inputs.forEach((s, i) => { s.inputName ??= `input_${i + 1}`; });
    if (options.name !== undefined && (typeof options.name !== 'string' || !options.name)) throw new ArgumentError(`${kind}: name must be a non-empty string`);
    this.name = options.name ?? `${kind}_${++modelCount}`;
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw new ArgumentError(`${kind}: seed must be an integer, got ${JSON.stringify(seed)}`);
    this.random = seededRandom(seed);
    this.graph = new Graph(this.inputs, this.outputs, kind);
    this.adopt(this.graph.layers, kind);
  }

  /** Take ownership of layers, name them, and build their weights in order; on failure undo all. */
  protected adopt(layers: Layer[], kind: string): void {
    const fresh = layers.filter((l) => l.owner !== this);
    for (const l of fresh) {
      if (l.owner) throw new ArgumentError(`${kind}: ${l.label} already belongs to another model; a layer object belongs to one model only`);
    }
    const taken = new Set(this.graph.layers.filter((l) => l.owner === this).map((l) => l.name));
    const counts = new Map<string, number>();
    const named: Layer[] = [];
    try {
      for (const l of fresh) {
        if (!l.name) {
          let n = counts.get(l.type) ?? 0, candidate: string;
          do candidate = `${l.type}_${++n}`; while (taken.has(candidate));
          counts.set(l.type, n);
          l.name = candidate;
          named.push(l);
        }
        if (taken.has(l.name)) throw new ArgumentError(`${kind}: two layers are named '${l.name}'`);
        taken.add(l.name);
      }
      for (const l of fresh) {
        l.owner = this;
        const first = this.graph.steps.find((s) => s.layer === l)!;
        l.build(first.inputs.map((v) => this.graph.valueShapes[v]), this.random);
      }
    } catch (e) {
      for (const l of fresh) {
        if (l.owner === this) { l.dispose(); l.owner = null; }
      }
      for (const l of named) l.name = '';
      throw e;
    }
  }

  /** Layers in the order they first run. */
  get layers(): Layer[] { return this.graph.layers.slice(); }
  /** Shape of one example of the first input (no batch axis). */
  get inputShape(): number[] { return this.inputs[0].shape.slice(); }
  /** Shape of one example of the first output. */
  get outputShape(): number[] { return this.outputs[0].shape.slice(); }
  get inputShapes(): number[][] { return this.inputs.map((s) => s.shape.slice()); }
  get outputShapes(): number[][] { return this.outputs.map((s) => s.shape.slice()); }
  get isDisposed(): boolean { return this.disposed; }

  /** The layer called `name`. */
  getLayer(name: string): Layer {
    this.alive('getLayer');
    const l = this.graph.layers.find((x) => x.name === name);
    if (!l) throw new ArgumentError(`${this.name}.getLayer: no layer named ${JSON.stringify(name)} (layers: ${this.graph.layers.map((x) => x.name).join(', ')})`);
    return l;
  }

  /** Parameter count (moving statistics included, as Keras counts them). */
  countParams(): number {
    this.alive('countParams');
    return this.graph.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  /** The summary table (also printed unless `print: false`). */
  summary(options: { print?: boolean } = {}): string {
    this.alive('summary');
    const text = summaryTable(this.name, this.inputs, this.outputs, this.graph);
    if (options.print ?? true) console.log(text);
    return text;
  }

  /** Choose the optimizer (name or instance), the loss (name or function) and the metrics. */
  compile(options: CompileOptions): this {
    this.alive('compile');
    if (this.fitting) throw new ArgumentError(`${this.name}.compile: not while fit is running`);
    if (!options || typeof options !== 'object') throw new ArgumentError('compile: options { optimizer, loss } are required');
    for (const k of Object.keys(options)) if (!['optimizer', 'loss', 'metrics'].includes(k)) throw new ArgumentError(`compile: unknown option '${k}'; accepted: optimizer, loss, metrics`);
    const loss = resolveLoss(options.loss, options.metrics, this.outputShapes);
    const optimizer = getOptimizer(options.optimizer, 'compile');
    // The same optimizer object again keeps its state; another one replaces (and frees) ours.
    if (this.optimizer && this.optimizer !== optimizer) this.optimizer.dispose();
    this.optimizer = optimizer;
    this.loss = loss;
    this.warnSoftmaxLogits(loss.name);
    return this;
  }

  private warnSoftmaxLogits(loss: string): void {
    if (loss !== 'softmaxCrossEntropy') return;
    for (const o of this.outputs) {
      const c = o.layer?.getConfig().activation;
      const act = typeof c === 'object' && c ? (c as { name?: string }).name : c;
      if (act === 'softmax' || (o.layer?.type === 'activation' && act === undefined && o.layer.getConfig().activation === 'softmax')) {
        console.warn(`simdcnn: ${o.layer!.label} applies softmax, and the loss 'softmaxCrossEntropy' applies it again (it takes logits). Remove the softmax from the output layer for training; apply softmax to predictions if you need probabilities.`);
      }
    }
  }

  /** The optimizer set by compile (to change its learning rate between epochs, for example). */
  getOptimizer(): BuiltinOptimizer<OptimizerConfig & { readonly learningRate: number }> | null {
    this.alive('getOptimizer');
    return this.optimizer as BuiltinOptimizer<OptimizerConfig & { readonly learningRate: number }> | null;
  }

  /** Bytes needed for a batch: parameters, gradients and optimizer state (training), activations. */
  memory(options: { batchSize: number; training?: boolean }): MemoryReport {
    this.alive('memory');
    const n = options?.batchSize;
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`memory: batchSize must be a positive integer, got ${JSON.stringify(n)}`);
    const training = options.training ?? false;
    const parameters = this.countParams() * 4;
    const trainable = this.trainableParams();
    const gradients = training ? trainable.reduce((s, p) => s + p.bytes, 0) : 0;
    const optimizerState = training && this.optimizer ? this.optimizer.stateBytes(trainable) : 0;
    const activations = activationBytes(this.graph, n, training, this.targetRowBytes);
    return { parameters, gradients, optimizerState, activations, total: parameters + gradients + optimizerState + activations };
  }

  /** Run the model on x [N, ...inputShape] in batches; returns [N, ...outputShape] (an array for several outputs). */
  predict(x: Tensor | Tensor[], options: { batchSize?: number } = {}): Out {
    this.alive('predict');
    const xs = this.graph.checkInputs('predict', x);
    const batchSize = batchOption('predict', options);
    const N = xs[0].shape[0];
    const outs: Tensor[] = [];
    try {
      for (const s of this.outputShapes) outs.push(empty([N, ...s]));
      for (let start = 0; start < N; start += batchSize) {
        const count = Math.min(batchSize, N - start);
        const ys = this.runBatch(xs, start, count);
        ys.forEach((y, i) => { copyRows(outs[i], start, y); y.dispose(); });
      }
    } catch (e) {
      for (const t of outs) t.dispose();
      throw e;
    }
    return (this.arrayOutputs ? outs : outs[0]) as Out;
  }

  /** Inference on rows [start, start + count) of xs; frees everything on failure. */
  private runBatch(xs: Tensor[], start: number, count: number): Tensor[] {
    const whole = start === 0 && count === xs[0].shape[0];
    const bs: Tensor[] = [];
    try {
      for (const x of xs) bs.push(whole ? x : sliceRows(x, start, count));
      this.plan ??= inferencePlan(this.graph);
      const { outputs } = this.graph.forward(bs, false, this.random, this.plan.run);
      return outputs;
    } finally {
      if (!whole) for (const b of bs) b.dispose();
    }
  }

  /** Mean loss and metrics over x, y (in batches). */
  evaluate(x: Tensor | Tensor[], y: Tensor | Tensor[], options: { batchSize?: number } = {}): EvaluateResult {
    this.alive('evaluate');
    const loss = this.compiled('evaluate');
    const xs = this.graph.checkInputs('evaluate', x);
    const ys = this.graph.checkTargets('evaluate', xs, y);
    const batchSize = batchOption('evaluate', options);
    const N = xs[0].shape[0];
    let total = 0;
    const sums: Record<string, number> = {};
    for (let start = 0; start < N; start += batchSize) {
      const count = Math.min(batchSize, N - start);
      const outs = this.runBatch(xs, start, count);
      const tb: Tensor[] = [];
      try {
        for (const t of ys) tb.push(sliceRows(t, start, count));
        total += loss.compute(outs, tb, false).loss * count;
        for (const [k, v] of Object.entries(loss.metrics(outs, tb))) sums[k] = (sums[k] ?? 0) + v * count;
      } finally {
        for (const t of [...outs, ...tb]) t.dispose();
      }
    }
    const result: EvaluateResult = { loss: total / N };
    for (const [k, v] of Object.entries(sums)) result[k] = v / N;
    return result;
  }

  /** Ask a running fit to stop after the current batch. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Train on x [N, ...inputShape] and targets y; holds x and y until it returns. */
  async fit(x: Tensor | Tensor[], y: Tensor | Tensor[], options: FitOptions = {}): Promise<History> {
    this.alive('fit');
    if (this.fitting) throw new ArgumentError(`${this.name}.fit: a fit is already running on this model; await it (or call stop()) first`);
    const loss = this.compiled('fit');
    const { epochs, batchSize, shuffle, verbose } = fitSettings(options);
    const xs = this.graph.checkInputs('fit', x);
    const ys = this.graph.checkTargets('fit', xs, y);
    let val: [Tensor[], Tensor[]] | null = null;
    if (options.validationData !== undefined) {
      const v = options.validationData;
      if (!Array.isArray(v) || v.length !== 2) throw new ArgumentError('fit: validationData must be [x, y]');
      const vx = this.graph.checkInputs('fit (validationData)', v[0]);
      val = [vx, this.graph.checkTargets('fit (validationData)', vx, v[1])];
    }
    const held = [...xs, ...ys, ...(val ? [...val[0], ...val[1]] : [])];
    const holder = `${this.name}.fit`;
    for (const t of held) t.hold(holder);
    this.fitting = true;
    this.stopRequested = false;
    try {
      const N = xs[0].shape[0];
      const batches = Math.ceil(N / batchSize);
      const history: History = { epochs: [] };
      const order = Int32Array.from({ length: N }, (_, i) => i);
      const bar = verbose ? new Progress(batches) : null;
      let lastYield = now();
      for (let epoch = 0; epoch < epochs && !this.stopRequested; epoch++) {
        if (shuffle) {
          for (let i = N - 1; i > 0; i--) {
            const j = Math.floor(this.random() * (i + 1));
            const t = order[i]; order[i] = order[j]; order[j] = t;
          }
        }
        const t0 = now();
        let lossSum = 0, seen = 0;
        const sums: Record<string, number> = {};
        bar?.start(epoch, epochs);
        for (let b = 0; b < batches && !this.stopRequested; b++) {
          const idx = order.subarray(b * batchSize, Math.min(N, (b + 1) * batchSize));
          const xb: Tensor[] = [], yb: Tensor[] = [];
          let logs: Record<string, number>;
          try {
            for (const t of xs) xb.push(gatherRows(t, idx));
            for (const t of ys) yb.push(gatherRows(t, idx));
            logs = this.step(xb, yb, loss);
          } finally {
            for (const t of [...xb, ...yb]) t.dispose();
          }
          lossSum += logs.loss * idx.length;
          for (const k of loss.metricNames) sums[k] = (sums[k] ?? 0) + logs[k] * idx.length;
          seen += idx.length;
          bar?.update(b + 1, lossSum / seen, sums.accuracy !== undefined ? sums.accuracy / seen : undefined, seen / ((now() - t0) / 1000));
          const batchLogs: BatchLogs = { epoch, batch: b, batches, ...logs, loss: logs.loss };
          if (options.onBatchEnd && (await options.onBatchEnd(batchLogs)) === false) this.stopRequested = true;
          // Yield to the event loop now and then, so a browser tab stays responsive.
          if (now() - lastYield > 16) {
            await yieldToEventLoop();
            lastYield = now();
          }
        }
        const seconds = (now() - t0) / 1000;
        const logs: EpochLogs = { epoch, loss: lossSum / Math.max(seen, 1), seconds, imagesPerSecond: seen / seconds };
        for (const k of loss.metricNames) logs[k] = sums[k] / Math.max(seen, 1);
        if (val) {
          const v = this.evaluate(val[0], val[1]);
          for (const [k, value] of Object.entries(v)) logs[`val${k[0].toUpperCase()}${k.slice(1)}`] = value;
        }
        bar?.end(logs);
        history.epochs.push(logs);
        if (options.onEpochEnd && (await options.onEpochEnd(logs)) === false) this.stopRequested = true;
      }
      return history;
    } finally {
      for (const t of held) t.release(holder);
      this.fitting = false;
    }
  }

  /** One step on a batch: forward, loss, backward, update. Returns the loss and metrics. */
  trainStep(x: Tensor | Tensor[], y: Tensor | Tensor[]): { loss: number; [metric: string]: number } {
    this.alive('trainStep');
    const loss = this.compiled('trainStep');
    const xs = this.graph.checkInputs('trainStep', x);
    const ys = this.graph.checkTargets('trainStep', xs, y);
    return this.step(xs, ys, loss);
  }

  private step(xs: Tensor[], ys: Tensor[], loss: ResolvedLoss): { loss: number; [metric: string]: number } {
    const g = this.graph;
    this.targetRowBytes = ys.reduce((s, t) => s + (t.shape[0] ? t.bytes / t.shape[0] : 0), 0);
    const { outputs, values, contexts } = g.forward(xs, true, this.random);
    let paramGrads: Map<Layer, Tensor[]> | null = null;
    try {
      const r = loss.compute(outputs, ys, true);
      if (!Number.isFinite(r.loss) && Number.isNaN(r.loss)) {
        for (const t of r.grads) t.dispose();
        throw new ArgumentError(`${this.name}.trainStep: the loss is NaN (check the inputs and targets for NaN, or lower the learning rate)`);
      }
      this.lastStepPeakBytes = memoryStats().bytes;
      const metrics = loss.metrics(outputs, ys);
      ({ paramGrads } = g.backward(contexts, r.grads));
      const params: Tensor[] = [], grads: Tensor[] = [];
      for (const l of g.layers) {
        const lg = paramGrads.get(l);
        // Keep the last gradients on the layer (inspection, gradient checks).
        for (const old of l.grads) old?.dispose();
        l.grads = lg ?? [];
        paramGrads.delete(l);
        if (!lg || !l.trainable) continue;
        let k = 0;
        l.params.forEach((p, i) => { if (l.paramTrainable[i]) { params.push(p); grads.push(lg[k++]); } });
      }
      if (params.length) this.optimizer!.step(params, grads);
      return { loss: r.loss, ...metrics };
    } finally {
      if (paramGrads) for (const list of paramGrads.values()) for (const t of list) t.dispose();
      for (const c of contexts) c.dispose();
      values.forEach((t, i) => { if (t && i >= g.inputCount) t.dispose(); });
      for (const t of outputs) if (!t.isDisposed) t.dispose();
    }
  }

  /** Topology (JSON) and one weights buffer; `weightsOnly` gives just the buffer and its index. */
  save(): SavedModel;
  save(options: { weightsOnly: true }): { weights: ArrayBuffer; index: WeightsIndex };
  save(options?: { weightsOnly?: boolean }): SavedModel | { weights: ArrayBuffer; index: WeightsIndex };
  /**
   * Write model.json and weights.bin to a target: a folder path or file:// URL (Node, Deno, Bun),
   * 'indexeddb://name' or 'downloads://name' (browsers).
   */
  save(target: string | URL): Promise<void>;
  save(options: { weightsOnly?: boolean } | string | URL = {}): SavedModel | { weights: ArrayBuffer; index: WeightsIndex } | Promise<void> {
    this.alive('save');
    if (typeof options === 'string' || (typeof URL !== 'undefined' && options instanceof URL)) {
      const { topology, weights } = saveModel(this as unknown as Model<ModelOutput>, this.graph);
      return writeArtifacts(options, { modelJson: topology as unknown as Record<string, unknown>, weights });
    }
    if (!options || typeof options !== 'object') throw new ArgumentError('save: options must be an object');
    for (const k of Object.keys(options)) if (k !== 'weightsOnly') throw new ArgumentError(`save: unknown option '${k}'; accepted: weightsOnly`);
    if ((options as { weightsOnly?: boolean }).weightsOnly) {
      const { weights, index } = packWeights(this.graph.layers);
      return { weights, index };
    }
    return saveModel(this as unknown as Model<ModelOutput>, this.graph);
  }

  /** Copy weights from a buffer laid out as `save()` writes it (length, order and shapes checked first). */
  setWeights(weights: ArrayBuffer | ArrayBufferView, index?: WeightsIndex): void {
    this.alive('setWeights');
    unpackWeights(this.graph.layers, weights, index, `${this.name}.setWeights`);
    this.invalidate();
  }

  /**
   * A new model whose flatten + dense head is rewritten as convolutions (a dense layer on a 7×7×512
   * map is a 7×7 convolution), optionally for a larger `inputShape`: it slides the classifier over
   * the image in one pass and returns a map of class scores [N, OH, OW, K].
   */
  toFullyConvolutional(options: { inputShape?: number[] } = {}): Model {
    this.alive('toFullyConvolutional');
    return toFullyConvolutional(this as unknown as Model<ModelOutput>, this.graph, options);
  }

  /** An ONNX model (opset 14, NCHW input and feature-map outputs, as PyTorch and ONNX Runtime expect) computing what predict does. */
  toOnnx(): Uint8Array { this.alive('toOnnx'); return exportOnnx(this.name, this.graph); }

  /** Parameters the optimizer updates (trainable layers' trainable parameters). */
  protected trainableParams(): Tensor[] {
    return this.graph.layers.flatMap((l) => (l.trainable ? l.params.filter((_, i) => l.paramTrainable[i]) : []));
  }

  /** Drop the cached inference plan (after weights or the graph changed shape). @internal */
  protected invalidate(): void {
    this.plan?.dispose();
    this.plan = null;
  }

  /** Free every parameter, gradient, plan and the optimizer's state. Later calls throw a DisposedError. */
  dispose(): void {
    if (this.disposed) return;
    if (this.fitting) throw new ArgumentError(`${this.name}.dispose: fit is running; call stop() and await it first`);
    this.disposed = true;
    this.invalidate();
    for (const l of this.graph.layers) {
      for (const gr of l.grads) gr?.dispose();
      l.grads = [];
      l.dispose();
      l.owner = null;
    }
    this.optimizer?.dispose();
    this.optimizer = null;
  }

  /** @internal */
  protected alive(method: string): void {
    if (this.disposed) throw new DisposedError(`${this.name}.${method}: the model was disposed`);
  }

  private compiled(op: string): ResolvedLoss {
    if (!this.optimizer || !this.loss) throw new ArgumentError(`${op}: call model.compile({ optimizer, loss }) first`);
    return this.loss;
  }
}

/** `model({ inputs, outputs })`: a model from the functional graph (predict gives an array when outputs is one). */
export function model<O extends SymbolicTensor | SymbolicTensor[]>(options: ModelOptions & { outputs: O }): Model<O extends SymbolicTensor[] ? Tensor[] : Tensor> {
  return new Model(options);
}

// ---- helpers ----

function batchOption(op: string, options: unknown): number {
  if (options === undefined) return 256;
  if (!options || typeof options !== 'object') throw new ArgumentError(`${op}: options must be an object`);
  for (const k of Object.keys(options)) if (k !== 'batchSize') throw new ArgumentError(`${op}: unknown option '${k}'; accepted: batchSize`);
  return positiveInt(op, 'batchSize', (options as { batchSize?: number }).batchSize ?? 256);
}

