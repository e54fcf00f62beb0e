import { fmtShape } from '../errors.js';
import { clone, type Tensor } from '../tensor.js';
import { add, addN, arithmeticBackward, mul } from '../ops/arithmetic.js';
import { concat, split } from '../ops/concat.js';
import { Layer, type Context, type Gradients } from './layer.js';
import { layerOptions } from './options.js';

// Layers that merge several inputs: add (residual connections), multiply (gating, squeeze-and-
// excitation with broadcasting) and concatenate (inception blocks, U-Net skips).

/** Shapes that broadcast (NumPy rules, aligned from the right) to one output shape, or null. */
export function broadcastShapes(shapes: number[][]): number[] | null {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) return null;
      d = v;
    }
    out.push(d);
  }
  return out;
}

type MergeKind = 'add' | 'multiply';

/** Elementwise sum or product of two or more inputs (shapes broadcast as in NumPy). */
export class MergeLayer extends Layer {
  readonly type: MergeKind;
  override readonly arity = 'many' as const;
  constructor(type: MergeKind, options: { name?: string } = {}) {
    super(layerOptions<{ name?: string }>(`layers.${type}`, options, ['name']).name);
    this.type = type;
  }

  computeOutputShape(shapes: number[][]): number[] {
    const out = broadcastShapes(shapes);
    if (!out || out.length !== Math.max(...shapes.map((s) => s.length))) throw this.shapeError(`input shapes ${shapes.map((s) => fmtShape(s)).join(', ')} do not broadcast`);
    return out;
  }

  forward(xs: Tensor[]): Tensor {
    const sameShape = xs.every((x) => x.shape.join() === xs[0].shape.join());
    if (this.type === 'add' && sameShape) return addN(xs);
    let acc = this.type === 'add' ? add(xs[0], xs[1]) : mul(xs[0], xs[1]);
    for (let i = 2; i < xs.length; i++) {
      const next = this.type === 'add' ? add(acc, xs[i]) : mul(acc, xs[i]);
      acc.dispose();
      acc = next;
    }
    return acc;
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    const xs = ctx.inputs;
    const dxs: Array<Tensor | null> = [];
    try {
      for (let i = 0; i < xs.length; i++) {
        if (!needDx[i]) { dxs.push(null); continue; }
        if (this.type === 'add') {
          dxs.push(xs[i].shape.join() === dy.shape.join() ? clone(dy) : reduceTo(dy, xs[i]));
          continue;
        }
        // d(Πx)/dx_i = Π_{j≠i} x_j: the product of the others, then reduced over broadcast axes.
        let others: Tensor | null = null;
        for (let j = 0; j < xs.length; j++) {
          if (j === i) continue;
          const next: Tensor = others ? mul(others, xs[j]) : clone(xs[j]);
          others?.dispose();
          others = next;
        }
        const { da, db } = arithmeticBackward('mul', dy, xs[i], others!);
        db?.dispose();
        others!.dispose();
        dxs.push(da);
      }
      return { dxs, grads: [] };
    } catch (e) {
      for (const d of dxs) d?.dispose();
      throw e;
    }
  }

  getConfig(): Record<string, unknown> { return {}; }
}


/** dy summed over the axes x was broadcast along, shaped like x. */
function reduceTo(dy: Tensor, x: Tensor): Tensor {
  const { db, da } = arithmeticBackward('add', dy, dy, x);
  da?.dispose();
  return db!;
}

export interface ConcatenateLayerOptions { axis?: number; name?: string }

/** Concatenation along an axis (default the last: channels); the other dimensions must agree. */
export class ConcatenateLayer extends Layer {
  readonly type = 'concatenate';
  override readonly arity = 'many' as const;
  readonly axis: number;
  constructor(options: ConcatenateLayerOptions = {}) {
    const op = 'layers.concatenate';
    const o = layerOptions<ConcatenateLayerOptions>(op, options, ['axis', 'name']);
    super(o.name);
    const axis = o.axis ?? -1;
    if (!Number.isInteger(axis) || axis === 0 || axis < -6 || axis > 6) throw this.argumentError(`axis must be a non-zero integer in [-6, 6] (axis 0 is the batch), got ${JSON.stringify(o.axis)}`);
    this.axis = axis;
  }

  /** The axis within one example's shape (no batch). */
  private exampleAxis(rank: number): number {
    const a = this.axis < 0 ? rank + this.axis : this.axis - 1;
    if (a < 0 || a >= rank) throw this.shapeError(`axis ${this.axis} is outside inputs of rank ${rank + 1} (with the batch)`);
    return a;
  }

  computeOutputShape(shapes: number[][]): number[] {
    const rank = shapes[0].length;
    const a = this.exampleAxis(rank);
    const bad = shapes.some((s) => s.length !== rank || s.some((d, i) => i !== a && d !== shapes[0][i]));
    if (bad) throw this.shapeError(`inputs ${shapes.map((s) => fmtShape(s)).join(', ')} differ outside axis ${this.axis}`);
    const out = shapes[0].slice();
    out[a] = shapes.reduce((sum, s) => sum + s[a], 0);
    return out;
  }

  forward(xs: Tensor[]): Tensor {
    return concat(xs, { axis: this.exampleAxis(xs[0].rank - 1) + 1 });
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    const axis = this.exampleAxis(dy.rank - 1) + 1;
    const parts = split(dy, ctx.inputs.map((x) => x.shape[axis]), { axis });
    return { dxs: parts.map((p, i) => (needDx[i] ? p : (p.dispose(), null))), grads: [] };
  }

  getConfig(): Record<string, unknown> { return { axis: this.axis }; }
}
