import { empty, type Tensor } from '../tensor.js';
import { ShapeError, fmtShape } from '../errors.js';
// Temporary: replaced by the SIMD arithmetic ops.
export function addN(xs: Tensor[]): Tensor {
  const y = empty(xs[0].shape);
  const v = y.view();
  v.set(xs[0].view());
  for (let k = 1; k < xs.length; k++) {
    if (xs[k].shape.join() !== xs[0].shape.join()) throw new ShapeError(`addN: ${fmtShape(xs[k].shape)} vs ${fmtShape(xs[0].shape)}`);
    const a = xs[k].view();
    for (let i = 0; i < v.length; i++) v[i] += a[i];
  }
  return y;
}
function binary(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  if (a.shape.join() !== b.shape.join()) throw new ShapeError(`binary: ${fmtShape(a.shape)} vs ${fmtShape(b.shape)}`);
  const y = empty(a.shape);
  const v = y.view(), av = a.view(), bv = b.view();
  for (let i = 0; i < v.length; i++) v[i] = f(av[i], bv[i]);
  return y;
}
export const add = (a: Tensor, b: Tensor): Tensor => binary(a, b, (x, y) => x + y);
export const sub = (a: Tensor, b: Tensor): Tensor => binary(a, b, (x, y) => x - y);
export const mul = (a: Tensor, b: Tensor): Tensor => binary(a, b, (x, y) => x * y);
export function arithmeticBackward(op: 'add' | 'sub' | 'mul' | 'div', dy: Tensor, a: Tensor, b: Tensor): { da: Tensor | null; db: Tensor | null } { void op; void dy; void a; void b; throw new Error('stub'); }
