// A strict consumer of simdcnn's published types (type-checked by tests/pack.test.ts against the
// packed tarball; never run). `@ts-expect-error` lines prove the types are precise, not `any`.
import { init, conv2d, maxPool2d, sequential, layers, tensor, tidy, backend, optimizers, loadModel, input, model as model2 } from 'simdcnn';
import type { Backend, Tensor, Conv2dOptions, SavedModel, History, ShapeError } from 'simdcnn';

export async function main(): Promise<number[]> {
  const build: Backend = await init();
  const again: Backend = backend();
  if (build !== again) throw new Error('backend changed');

  const x: Tensor = tensor(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const w: Tensor = tensor(new Float32Array(3 * 3 * 3 * 4), [3, 3, 3, 4]);
  const options: Conv2dOptions = { strides: 1, padding: 'same', activation: 'relu' };
  const y: Tensor = conv2d(x, w, options);
  const pooled = maxPool2d(y, { size: 2, returnIndices: true });
  const indices: Tensor = pooled.indices;
  const shape: readonly number[] = pooled.output.shape;

  const model = sequential({
    inputShape: [28, 28, 1],
    layers: [
      layers.conv2d({ filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      layers.maxPool2d({ poolSize: 2 }),
      layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      layers.maxPool2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 120, activation: 'relu' }),
      layers.dense({ units: 84, activation: 'relu' }),
      layers.dense({ units: 10 }),
    ],
  });
  model.compile({ optimizer: optimizers.adam({ learningRate: 1e-3 }), loss: 'softmaxCrossEntropy' });
  const images = tensor(new Float32Array(4 * 28 * 28), [4, 28, 28, 1]);
  const labels = tensor(new Int32Array([0, 1, 2, 3]), [4], 'int32');
  const history: History = await model.fit(images, labels, { epochs: 1, batchSize: 2, verbose: 0 });
  const logits: Tensor = tidy(() => model.predict(images));
  const saved: SavedModel = model.save();
  const format: 'simdcnn-model' = saved.topology.format;
  const opt = model.getOptimizer();
  if (opt) opt.learningRate *= 0.5;
  const x2 = input({ shape: [4] });
  const graph = model2({ inputs: x2, outputs: [layers.dense({ units: 2 }).apply(x2)] });
  const many: Tensor[] = graph.predict(tensor(new Float32Array(4), [1, 4]));
  for (const t of many) t.dispose();
  graph.dispose();
  void format;
  const copy = loadModel(saved);
  const { loss, accuracy }: { loss: number; [metric: string]: number } = model.evaluate(images, labels);

  const isShapeError = (e: unknown): e is ShapeError => e instanceof Error && e.name === 'ShapeError';
  try { conv2d(x, tensor(new Float32Array(9), [3, 3, 1, 1])); } catch (e) { if (!isShapeError(e)) throw e; }

  for (const t of [x, w, y, pooled.output, indices, images, labels]) t.dispose();
  const out = Array.from(logits.toArray());
  logits.dispose();
  copy.dispose();
  model.dispose();
  return [...shape, history.epochs.length, loss, accuracy ?? NaN, ...out];
}

/** Never called: each line must be a type error (else tsc reports an unused @ts-expect-error). */
export function typeErrors(x: Tensor, w: Tensor): void {
  // @ts-expect-error: padding is 'valid' | 'same' | 'full' | a number | pairs, not any string.
  conv2d(x, w, { padding: 'bogus' });
  // @ts-expect-error: an activation is named, not any string.
  layers.dense({ units: 3, activation: 'not-an-activation' });
  // @ts-expect-error: with returnIndices the result is { output, indices }, not a Tensor.
  const t: Tensor = maxPool2d(x, { size: 2, returnIndices: true });
  // @ts-expect-error: backend() is one of three names.
  const b: 'gpu' = backend();
  void t;
  void b;
}
