import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  init, threads, shutdown, tensor, conv2d, conv2dTranspose, conv2dBackpropInput, conv2dBackpropFilter, maxPool2d, avgPool2d, lpPool2d, mixedPool2d,
  dense, denseBackpropInput, denseBackpropFilter, add, sub, mul, div, globalAvgPool2d, relu, reluBackward, gelu, swish, sigmoid, tanh, elu, selu, optimizers, lenet5, zeros, OutOfMemoryError, type Tensor,
} from '../src/index.ts';
import { lcgFloats, lcgTensor } from './helpers.ts';

// Threads (README "Threads"): every op split over the pool gives bit-identical results with 1, 2
// and 3 threads (3 threads on a 2-core machine is legal), training included; the Node process
// exits on its own; without SharedArrayBuffer init falls back to one thread with one warning.

const rnd = lcgFloats, t = lcgTensor;

/** Every op, large enough to be split (above the small-op threshold); results as arrays. */
function ops(): Record<string, Float32Array | Int32Array> {
  const out: Record<string, Float32Array | Int32Array> = {};
  const convs: Array<[string, number[], number[], Parameters<typeof conv2d>[2]]> = [
    ['igemm', [2, 14, 14, 32], [3, 3, 32, 40], { padding: 'same', strides: 2, activation: 'relu' }],
    ['igemm-1x1', [2, 14, 14, 24], [1, 1, 24, 36], {}],
    ['winograd', [2, 15, 13, 32], [3, 3, 32, 24], { padding: 'same' }],
    ['im2col', [2, 30, 30, 3], [3, 3, 3, 20], { padding: 'same' }],
    ['im2col-7x7', [1, 40, 40, 3], [7, 7, 3, 16], { padding: 'same', strides: 2 }],
    ['depthwise', [2, 30, 30, 32], [3, 3, 1, 32], { padding: 'same', groups: 32 }],
    ['single-channel', [8, 28, 28, 1], [5, 5, 1, 6], {}],
    ['single-channel-1', [1, 64, 64, 1], [5, 5, 1, 8], { padding: 'same' }],
    ['grouped', [2, 16, 16, 16], [3, 3, 8, 16], { groups: 2 }],
    ['igemm-1x1-silu', [2, 20, 20, 24], [1, 1, 24, 40], { activation: 'silu' }],
    ['depthwise-5x5-silu', [2, 30, 30, 36], [5, 5, 1, 36], { padding: 'same', groups: 36, activation: 'silu' }],
  ];
  let seed = 1;
  for (const [name, xs, ws, o] of convs) {
    const x = t(xs, seed++), w = t(ws, seed++), b = t([ws[3]], seed++);
    const y = conv2d(x, w, { ...o, bias: b });
    out[name] = y.toArray() as Float32Array;
    const { activation: _a, ...g } = o ?? {};
    out[`${name}/dx`] = conv2dBackpropInput(y, w, xs, g).toArray() as Float32Array;
    out[`${name}/dw`] = conv2dBackpropFilter(x, y, ws, g).toArray() as Float32Array;
  }
  const xt = t([2, 12, 12, 16], seed++), wt = t([3, 3, 24, 16], seed++);
  out.transposed = conv2dTranspose(xt, wt, { strides: 2, padding: 'same' }).toArray() as Float32Array;
  const xp = t([4, 32, 32, 16], seed++);
  out.maxPool = maxPool2d(xp, { size: 3, strides: 2 }).toArray() as Float32Array;
  out.avgPool = avgPool2d(xp, { size: 2 }).toArray() as Float32Array;
  const x1 = t([1, 112, 112, 64], seed++);
  out['maxPool/one-image'] = maxPool2d(x1, { size: 3, strides: 2, padding: 1 }).toArray() as Float32Array;
  out['avgPool/one-image'] = avgPool2d(x1, { size: 2, strides: 2 }).toArray() as Float32Array;
  out['lpPool/one-image'] = lpPool2d(x1, { p: 2, size: 3, strides: 2 }).toArray() as Float32Array;
  out['mixedPool/one-image'] = mixedPool2d(x1, { lambda: 0.3, size: 3, strides: 2 }).toArray() as Float32Array;
  // Global average pools at batch 1 (squeeze-excitation): channels split in blocks of 16, C off 16.
  out['globalAvgPool/one-image'] = globalAvgPool2d(t([1, 40, 40, 170], seed++)).toArray() as Float32Array;
  out['globalAvgPool/batch'] = globalAvgPool2d(t([3, 20, 20, 250], seed++)).toArray() as Float32Array;
  // Elementwise arithmetic (splits from 256k elements): same shapes (one coalesced axis, 64-float
  // blocks), a per-channel scale (outer axis split), a broadcast on a middle axis, a scalar.
  const xb = t([1, 112, 112, 64], seed++);
  out.add = add(x1, xb).toArray() as Float32Array;
  out['mul/per-channel'] = mul(x1, t([1, 1, 1, 64], seed++)).toArray() as Float32Array;
  out['sub/middle-axis'] = sub(t([3, 1, 300, 300], seed++), t([3, 7, 1, 300], seed++)).toArray() as Float32Array;
  out['div/scalar'] = div(tensor(new Float32Array([3]), []), xb).toArray() as Float32Array;
  out.relu = relu(xp).toArray() as Float32Array;
  out.reluBackward = reluBackward(t([4, 32, 32, 16], 77), xp).toArray() as Float32Array;
  const arg = maxPool2d(xp, { size: 2, returnIndices: true });
  out['maxPool/argmax'] = arg.output.toArray() as Float32Array;
  out['maxPool/indices'] = arg.indices.toArray() as Int32Array;
  out.gelu = gelu(xp).toArray() as Float32Array;
  const xd = t([64, 300], seed++), wd = t([300, 120], seed++);
  const yd = dense(xd, wd);
  out.dense = yd.toArray() as Float32Array;
  out['dense/dx'] = denseBackpropInput(yd, wd).toArray() as Float32Array;
  out['dense/dw'] = denseBackpropFilter(xd, yd).toArray() as Float32Array;
  // Few rows (a batch-1 classifier): split over 8-column blocks; units not a multiple of 8.
  for (const [M, K, N] of [[1, 700, 1003], [3, 300, 517], [5, 260, 301]]) {
    const x = t([M, K], seed++), w = t([K, N], seed++), b = t([N], seed++);
    const y = dense(x, w, { bias: b, activation: 'relu' });
    out[`dense/M${M}`] = y.toArray() as Float32Array;
    out[`dense/M${M}/dx`] = denseBackpropInput(y, w).toArray() as Float32Array;
  }
  // Activations with an exp split from fewer elements (16k or 64k; memory-bound ones from 256k).
  for (const n of [17000, 70000]) {
    const x = t([n / 10, 10], seed++);
    for (const [name, f] of Object.entries({ swish, sigmoid, tanh, gelu, elu, selu })) out[`${name}/${n}`] = f(x).toArray() as Float32Array;
  }
  // An optimizer step split over threads (Adam counts 8 per element: 40k parameters split).
  const params = [t([200, 150], seed++), t([100, 100], seed++), t([37], seed++)];
  const grads = params.map((p) => t(p.shape as number[], seed++));
  const opt = optimizers.adam({ learningRate: 0.01 });
  for (let i = 0; i < 3; i++) opt.step(params, grads);
  params.forEach((p, i) => { out[`adam/${i}`] = p.toArray() as Float32Array; });
  return out;
}

/** LeNet-5 trained on 320 random MNIST-shaped examples: losses per batch and the final weights. */
async function train(): Promise<{ losses: number[]; weights: Float32Array }> {
  const N = 320;
  const r = rnd(N * 28 * 28, 99);
  const labels = new Int32Array(N).map((_, i) => (i * 7) % 10);
  const x = tensor(r, [N, 28, 28, 1]), y = tensor(labels, [N], 'int32');
  const m = lenet5({ seed: 3 });
  m.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
  const losses: number[] = [];
  await m.fit(x, y, { epochs: 2, batchSize: 64, verbose: 0, shuffle: false, onBatchEnd: (logs) => { losses.push(logs.loss); } });
  const weights = new Float32Array(m.save({ weightsOnly: true }).weights);
  return { losses, weights };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));

test('threads() is 1 by default and says how many after init({ threads })', async () => {
  await init();
  assert.is(threads(), 1);
  await init({ threads: 2 });
  assert.is(threads(), 2);
  shutdown();
  assert.is(threads(), 1);
  await init({ threads: 'auto' });
  assert.ok(threads() >= 1);
});

test('every op is bit-identical with 1, 2 and 3 threads', async () => {
  const results: Array<Record<string, Float32Array | Int32Array>> = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    assert.is(threads(), n);
    results.push(ops());
  }
  for (const k of Object.keys(results[0])) {
    assert.ok(same(results[0][k], results[1][k]), `${k}: 2 threads differ from 1`);
    assert.ok(same(results[0][k], results[2][k]), `${k}: 3 threads differ from 1`);
  }
});

test('dense with one row split over column blocks (2 threads) matches the float64 product', async () => {
  await init({ threads: 2 });
  for (const [M, K, N] of [[1, 700, 1003], [2, 513, 777]]) {
    const xa = rnd(M * K, M + 1), wa = rnd(K * N, K), ba = rnd(N, N);
    const y = dense(tensor(xa, [M, K]), tensor(wa, [K, N]), { bias: tensor(ba, [N]) }).toArray() as Float32Array;
    const dx = denseBackpropInput(tensor(y, [M, N]), tensor(wa, [K, N])).toArray() as Float32Array;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = ba[n], a = Math.abs(ba[n]);
        for (let k = 0; k < K; k++) { s += xa[m * K + k] * wa[k * N + n]; a += Math.abs(xa[m * K + k] * wa[k * N + n]); }
        assert.ok(Math.abs(y[m * N + n] - s) <= 1e-5 * a + 1e-6, `y[${m},${n}] ${y[m * N + n]} vs ${s}`);
      }
      for (let k = 0; k < K; k += 7) {
        let s = 0, a = 0;
        for (let n = 0; n < N; n++) { s += y[m * N + n] * wa[k * N + n]; a += Math.abs(y[m * N + n] * wa[k * N + n]); }
        assert.ok(Math.abs(dx[m * K + k] - s) <= 1e-5 * a + 1e-6, `dx[${m},${k}] ${dx[m * K + k]} vs ${s}`);
      }
    }
  }
});

test('LeNet-5 training: losses and final weights bit-identical with 1, 2 and 3 threads', async () => {
  const runs = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    runs.push(await train());
  }
  for (const r of runs.slice(1)) {
    assert.equal(r.losses, runs[0].losses);
    assert.ok(r.weights.length > 60000);
    assert.ok(same(r.weights, runs[0].weights), 'final weights differ');
  }
});

test('init with other options replaces the pool; memory growth is seen by the workers', async () => {
  await init({ threads: 3 });
  await init({ threads: 2 });
  assert.is(threads(), 2);
  // Grow the shared memory well past its first size, then run split ops on the new pages.
  const big = t([4, 64, 64, 32], 5), w = t([3, 3, 32, 32], 6);
  const y2 = conv2d(big, w, { padding: 'same' }).toArray() as Float32Array;
  await init({ threads: 1 });
  const big1 = t([4, 64, 64, 32], 5), w1 = t([3, 3, 32, 32], 6);
  assert.ok(same(conv2d(big1, w1, { padding: 'same' }).toArray() as Float32Array, y2));
});

test('the shared memory of threads stops at 1 GiB with an OutOfMemoryError saying so', async () => {
  await init({ threads: 2 });
  try {
    zeros([300, 1024, 1024]);
    assert.unreachable('expected OutOfMemoryError');
  } catch (e) {
    assert.instance(e, OutOfMemoryError);
    assert.match((e as Error).message, '1 GiB');
  }
  assert.is(conv2d(t([1, 8, 8, 4], 1), t([3, 3, 4, 4], 2)).shape[1], 6);
});

function child(code: string): ReturnType<typeof spawnSync> {
  const dir = mkdtempSync(join(tmpdir(), 'simdcnn-threads-'));
  const file = join(dir, 'child.mjs');
  writeFileSync(file, code);
  return spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20000 });
}

const lib = JSON.stringify(new URL('../../dist/index.js', import.meta.url).href);

test('a Node process that used threads exits on its own', () => {
  const start = Date.now();
  const r = child(`import * as s from ${lib};
await s.init({ threads: 2 });
const x = s.tensor(new Float32Array(2 * 32 * 32 * 16).fill(1), [2, 32, 32, 16]);
const w = s.tensor(new Float32Array(3 * 3 * 16 * 16).fill(0.5), [3, 3, 16, 16]);
console.log('threads', s.threads(), s.conv2d(x, w).toArray()[0]);`);
  assert.is(r.status, 0, String(r.stderr));
  assert.match(String(r.stdout), 'threads 2 72');
  assert.ok(Date.now() - start < 10000, `took ${Date.now() - start} ms`);
});

test('without SharedArrayBuffer: one thread and one warning naming the cause', () => {
  const r = child(`delete globalThis.SharedArrayBuffer;
const s = await import(${lib});
await s.init({ threads: 2 });
await s.init({ threads: 3 });
console.log('threads', s.threads());`);
  assert.is(r.status, 0, String(r.stderr));
  assert.match(String(r.stdout), 'threads 1');
  const warnings = String(r.stderr).trim().split('\n').filter((l) => l.includes('simdcnn'));
  assert.is(warnings.length, 1, String(r.stderr));
  assert.match(warnings[0], 'SharedArrayBuffer');
});

test.run();
