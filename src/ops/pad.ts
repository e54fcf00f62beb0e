import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectOptions, expectTensor } from './check.js';

// Constant padding of the H and W axes of NHWC images (the zeroPadding2d layer; ONNX Pad in
// 'constant' mode on those axes) and its gradient, the crop back to the input's shape.

/** [[top, bottom], [left, right]], non-negative integers. */
export type Pad2dPadding = readonly [readonly [number, number], readonly [number, number]];

export interface Pad2dOptions {
  /** Rows above and below, columns left and right. Negative padding is rejected (crop instead). */
  padding: Pad2dPadding;
  /** The border's value; 0. */
  value?: number;
}

/** x [N, H, W, C] → [N, top + H + bottom, left + W + right, C], the border filled with `value`. */
export function pad2d(x: Tensor, options: Pad2dOptions): Tensor {
  const op = 'pad2d';
  const t = expectTensor(op, 'x', x, 4);
  const o = expectOptions(op, options, ['padding', 'value']);
  const [[top, bottom], [left, right]] = parsePadding(op, o.padding);
  // NaN and ±Infinity are legitimate fill values (ONNX Pad allows any constant).
  const value = o.value === undefined ? 0 : o.value;
  if (typeof value !== 'number') throw new ArgumentError(`${op}: value must be a number, got ${String(value)}`);
  const [N, H, W, C] = t.shape;
  const y = empty([N, top + H + bottom, left + W + right, C]);
  if (y.size > 0) rt().kernels.pad2d_nhwc_f32(t.ptr, y.ptr, N, H, W, C, top, bottom, left, right, value);
  return y;
}

/** The gradient of pad2d: dy [N, top + H + bottom, left + W + right, C] cropped to xShape [N, H, W, C]. */
export function pad2dBackward(dy: Tensor, xShape: readonly number[], options: Pick<Pad2dOptions, 'padding'> & { value?: number }): Tensor {
  const op = 'pad2dBackward';
  const g = expectTensor(op, 'dy', dy, 4);
  if (!Array.isArray(xShape) || xShape.length !== 4 || xShape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new ArgumentError(`${op}: xShape must be [N, H, W, C] of non-negative integers, got ${JSON.stringify(xShape)}`);
  }
  const o = expectOptions(op, options, ['padding', 'value']);
  const [[top, bottom], [left, right]] = parsePadding(op, o.padding);
  // value is accepted (the forward's options can be passed as they are) but plays no part.
  if (o.value !== undefined && typeof o.value !== 'number') throw new ArgumentError(`${op}: value must be a number, got ${String(o.value)}`);
  const [N, H, W, C] = xShape;
  const want = [N, top + H + bottom, left + W + right, C];
  if (g.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(`${op}: dy must be ${fmtShape(want)} (x ${fmtShape(xShape)} padded by [[${top},${bottom}],[${left},${right}]]), got dy ${fmtShape(g.shape)}`);
  }
  const dx = empty(xShape);
  if (dx.size > 0) rt().kernels.pad2d_nhwc_f32_backward(g.ptr, dx.ptr, N, H, W, C, top, left, want[1], want[2]);
  return dx;
}

function parsePadding(op: string, padding: unknown): [[number, number], [number, number]] {
  const ok = (p: unknown): p is [number, number] =>
    Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0);
  if (!Array.isArray(padding) || padding.length !== 2 || !ok(padding[0]) || !ok(padding[1])) {
    throw new ArgumentError(`${op}: padding must be [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(padding) ?? String(padding)}`);
  }
  return [[padding[0][0], padding[0][1]], [padding[1][0], padding[1][1]]];
}
