import { empty, type Tensor } from '../tensor.js';
import { rt } from '../runtime/wasm.js';
import { expectNumber, expectOptions, expectTensor } from './check.js';
import { ShapeError, fmtShape } from '../errors.js';

// Inverted dropout: in training each element is zeroed with probability `rate` and the rest are
// scaled by 1/(1 − rate); the mask (0 or 1/(1 − rate) per element) is what backward multiplies by.

export interface DropoutOptions { rate: number; seed: number }

/** y = x·mask with a fresh mask drawn from `seed`; both returned (the caller owns them). */
export function dropout(x: Tensor, options: DropoutOptions): { output: Tensor; mask: Tensor } {
  const op = 'dropout';
  expectTensor(op, 'x', x);
  const o = expectOptions(op, options, ['rate', 'seed']);
  const rate = expectNumber(op, 'rate', o.rate, NaN, 0, 1);
  if (rate >= 1) throw new ShapeError(`${op}: rate must be below 1, got ${rate}`);
  const seed = expectNumber(op, 'seed', o.seed, 1) >>> 0 || 1;
  const output = empty(x.shape);
  let mask: Tensor;
  try {
    mask = empty(x.shape);
  } catch (e) {
    output.dispose();
    throw e;
  }
  rt().kernels.dropout_f32(x.ptr, output.ptr, mask.ptr, x.size, 1 - rate, seed);
  return { output, mask };
}

/** dx = dy·mask. */
export function dropoutBackward(dy: Tensor, mask: Tensor): Tensor {
  const op = 'dropoutBackward';
  expectTensor(op, 'dy', dy);
  expectTensor(op, 'mask', mask);
  if (dy.shape.join() !== mask.shape.join()) throw new ShapeError(`${op}: dy ${fmtShape(dy.shape)} and mask ${fmtShape(mask.shape)} differ`);
  const dx = empty(dy.shape);
  rt().kernels.mul_f32(dy.ptr, mask.ptr, dx.ptr, dy.size);
  return dx;
}
