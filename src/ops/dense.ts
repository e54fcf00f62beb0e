import { ShapeError, fmtShape } from '../errors.js';
import { MIN_PARALLEL_WORK, parallelRows, poolThreads, runCalls, split } from './parallel.js';
import type { Call } from '../runtime/pool.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { activateInPlace, parseActivation, type Activation } from './activation.js';
import { scratch, zeroRow } from './cache.js';
import { expectOptions, expectTensor } from './check.js';
import { denseRows, packGemm } from './pack.js';

// Fully connected layers run on the same packed indirect GEMM as convolutions (a dense layer is
// a 1×1 convolution over a 1×1 image): the weights [inputs, units] are packed once per tensor.
// Their gradients are here too, and biasGrad, which every layer with a bias uses.

export interface DenseOptions {
  bias?: Tensor;
  activation?: Activation;
}

/** x [..., inputs] · w [inputs, units] + bias [units] → [..., units]. */
export function dense(x: Tensor, w: Tensor, options?: DenseOptions): Tensor {
  const op = 'dense';
  const o = expectOptions(op, options, ['bias', 'activation']);
  expectTensor(op, 'x', x);
  expectTensor(op, 'w', w, 2);
  if (x.rank < 1) throw new ShapeError(`${op}: x must have rank ≥ 1, got ${fmtShape(x.shape)}`);
  const [inputs, units] = w.shape;
  const K = x.shape[x.rank - 1];
  if (K !== inputs) {
    throw new ShapeError(`${op}: input has ${K} features but weights expect ${inputs} (x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)})`);
  }
  if (units < 1) throw new ShapeError(`${op}: weights must have at least one unit, got w ${fmtShape(w.shape)}`);
  let bias: Tensor | null = null;
  if (o.bias !== undefined) {
    bias = expectTensor(op, 'bias', o.bias, 1);
    if (bias.shape[0] !== units) throw new ShapeError(`${op}: bias has ${bias.shape[0]} elements but there are ${units} units (bias ${fmtShape(bias.shape)})`);
  }
  const act = parseActivation(op, o.activation);
  const M = x.size / K || 0;
  const y = empty([...x.shape.slice(0, -1), units]);
  if (M === 0) return y;
  const { kernels } = rt();
  const rows = denseRows(M, K, units);
  const zero = zeroRow(K);
  const packed = packGemm(w, bias, 1, 1, K, units, false, false);
  const fuseRelu = act?.name === 'relu';
  gemmTiles(M, K, units, x.ptr, rows, zero, packed, y.ptr, fuseRelu ? 0 : -Infinity);
  void kernels;
  if (act && !fuseRelu) activateInPlace(y, act);
  return y;
}

/**
 * y [M, N] = x [M, K] · packed (one tap) on the pool. Tiles: 4-row blocks of x; when there are too
 * few rows to give every thread one (a batch-1 classifier: M = 1), 8-column blocks of the packed
 * weights instead (independent outputs, computed by the same instructions: the same bits).
 */
function gemmTiles(M: number, K: number, N: number, x: number, rows: number, zero: number, packed: number, y: number, ymin: number): void {
  const work = M * K * N;
  if (M < 4 * poolThreads() && poolThreads() > 1) {
    const blockBytes = (8 + K * 8) * 4;
    runCalls(split(Math.ceil(N / 8), work, 1).map(([b, e]) => ({
      kernel: 'igemm_f32_4x8', args: [M, Math.min(N, e * 8) - b * 8, K, 1, x, rows, zero, packed + b * blockBytes, y + b * 32, rows + M * 4, ymin, Infinity],
    })));
    return;
  }
  parallelRows('igemm_f32_4x8', M, work, 4, (b, e) => [e - b, N, K, 1, x, rows + b * 4, zero, packed, y, rows + (M + b) * 4, ymin, Infinity]);
}

/**
 * Bias gradient: dy summed over every axis but the last ([C]), or, with `{ perPixel: true }` for a
 * locally connected layer's [OH, OW, C] bias, over the batch axis only.
 */
export function biasGrad(dy: Tensor, options?: { perPixel?: boolean }): Tensor {
  const op = 'biasGrad';
  const o = expectOptions(op, options, ['perPixel']);
  expectTensor(op, 'dy', dy);
  if (dy.rank < 1) throw new ShapeError(`${op}: dy must have rank ≥ 1, got ${fmtShape(dy.shape)}`);
  const shape = o.perPixel ? dy.shape.slice(1) : [dy.shape[dy.rank - 1]];
  const cols = shape.reduce((a, b) => a * b, 1);
  const db = empty(shape);
  const rows = cols ? dy.size / cols : 0;
  // Large sums: fixed row ranges (by the shape only, never the thread count) give partial sums,
  // added in range order.
  const parts = rows * cols < MIN_PARALLEL_WORK ? 1 : Math.min(16, Math.ceil((rows * cols) / (1 << 15)), rows);
  const per = Math.ceil(rows / parts);
  const partial = parts > 1 ? scratch(4, (parts - 1) * cols * 4) : 0;
  const calls: Call[] = [];
  for (let r = 0, i = 0; r < rows || i === 0; r += per, i++) {
    calls.push({ kernel: 'bias_grad_f32', args: [dy.ptr + r * cols * 4, Math.min(per, rows - r), cols, i ? partial + (i - 1) * cols * 4 : db.ptr] });
  }
  runCalls(calls);
  if (calls.length > 1) parallelRows('add_partials_f32', cols, cols * (calls.length - 1), 64, (b, e) => [db.ptr, partial, calls.length - 1, cols * 4, b, e]);
  return db;
}

/** dx of dense: dy [..., units], w [inputs, units] → [..., inputs] (dy · wᵀ). */
export function denseBackpropInput(dy: Tensor, w: Tensor): Tensor {
  const op = 'denseBackpropInput';
  expectTensor(op, 'dy', dy);
  expectTensor(op, 'w', w, 2);
  const [inputs, units] = w.shape;
  if (dy.rank < 1 || dy.shape[dy.rank - 1] !== units) {
    throw new ShapeError(`${op}: dy must end in ${units} units (w ${fmtShape(w.shape)}), got ${fmtShape(dy.shape)}`);
  }
  const M = dy.size / units;
  const dx = empty([...dy.shape.slice(0, -1), inputs]);
  if (M === 0) return dx;
  const rows = denseRows(M, units, inputs);
  const packed = packGemm(w, null, 1, 1, units, inputs, false, true);
  const zero = zeroRow(units);
  gemmTiles(M, units, inputs, dy.ptr, rows, zero, packed, dx.ptr, -Infinity);
  return dx;
}

/** dw of dense: x [..., inputs], dy [..., units] → [inputs, units] (xᵀ · dy over every row). */
export function denseBackpropFilter(x: Tensor, dy: Tensor): Tensor {
  const op = 'denseBackpropFilter';
  expectTensor(op, 'x', x);
  expectTensor(op, 'dy', dy);
  if (x.rank < 1 || dy.rank !== x.rank || x.shape.slice(0, -1).some((v, i) => v !== dy.shape[i])) {
    throw new ShapeError(`${op}: x and dy must agree on every axis but the last, got x ${fmtShape(x.shape)} and dy ${fmtShape(dy.shape)}`);
  }
  const inputs = x.shape[x.rank - 1], units = dy.shape[dy.rank - 1];
  const M = inputs ? x.size / inputs : 0;
  const dw = empty([inputs, units]);
  if (M === 0) dw.view().fill(0);
  // Tiles: rows of dw (4 inputs each); the sum over M is never split.
  else parallelRows('gemm_tn_f32_4x8', inputs, M * inputs * units, 4, (b, e) => [M, e - b, units, x.ptr + b * 4, inputs * 4, dy.ptr, units * 4, dw.ptr + b * units * 4, units * 4, 0]);
  return dw;
}

/** [N, ...] → [N, product of the rest] (a copy; tensors own their memory). */
export function flatten(x: Tensor): Tensor {
  expectTensor('flatten', 'x', x, undefined);
  if (x.rank < 1) throw new ShapeError(`flatten: x must have rank ≥ 1, got ${fmtShape(x.shape)}`);
  const y = empty([x.shape[0], x.shape[0] ? x.size / x.shape[0] : x.shape.slice(1).reduce((a, b) => a * b, 1)]);
  const u8 = rt().heap.u8();
  u8.copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
  return y;
}
