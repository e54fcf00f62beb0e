import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectBool, expectOptions, expectTensor } from './check.js';
import { pair } from './shape.js';

// Upsampling of NHWC images by integer factors (the upSampling2d layer; ONNX Resize / Upsample with
// integer scales) and its gradient. Nearest repeats each pixel sh×sw times (PyTorch's
// nn.Upsample(mode='nearest'), Keras' UpSampling2D); bilinear interpolates with PyTorch's source
// coordinates: alignCorners false (half-pixel centres, clamped at 0; also Keras' bilinear
// UpSampling2D) or true. The kernels are assembly/upsample.ts, vectorised over channels.

export type Interpolation = 'nearest' | 'bilinear';

export interface UpSampling2dOptions {
  /** Integer factor for both axes, or [sh, sw]. */
  size: number | readonly [number, number];
  /** 'nearest' (default) or 'bilinear'. */
  interpolation?: Interpolation;
  /** Bilinear only: PyTorch's align_corners. Default false. */
  alignCorners?: boolean;
}

interface Plan { sh: number; sw: number; bilinear: boolean; align: boolean }

/** x [N, H, W, C] → [N, H·sh, W·sw, C]. */
export function upSampling2d(x: Tensor, options: UpSampling2dOptions): Tensor {
  const op = 'upSampling2d';
  const t = expectTensor(op, 'x', x, 4);
  const p = parse(op, options);
  const [N, H, W, C] = t.shape;
  const OH = H * p.sh, OW = W * p.sw;
  const y = empty([N, OH, OW, C]);
  if (y.size === 0) return y;
  const k = rt().kernels;
  if (!p.bilinear) k.upsample2d_nhwc_f32_nearest(t.ptr, y.ptr, N, H, W, C, p.sh, p.sw);
  else k.upsample2d_nhwc_f32_bilinear(t.ptr, y.ptr, N, H, W, C, OH, OW, scale(H, OH, p.sh, p.align), scale(W, OW, p.sw, p.align), p.align);
  return y;
}

/** The gradient of upSampling2d: dy [N, H·sh, W·sw, C] → dx of xShape [N, H, W, C] (same options). */
export function upSampling2dBackward(dy: Tensor, xShape: readonly number[], options: UpSampling2dOptions): Tensor {
  const op = 'upSampling2dBackward';
  const g = expectTensor(op, 'dy', dy, 4);
  if (!Array.isArray(xShape) || xShape.length !== 4 || xShape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new ArgumentError(`${op}: xShape must be [N, H, W, C] of non-negative integers, got ${JSON.stringify(xShape)}`);
  }
  const p = parse(op, options);
  const [N, H, W, C] = xShape;
  const OH = H * p.sh, OW = W * p.sw;
  const want = [N, OH, OW, C];
  if (g.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(`${op}: dy must be ${fmtShape(want)} (x ${fmtShape(xShape)} upsampled by [${p.sh},${p.sw}]), got dy ${fmtShape(g.shape)}`);
  }
  const dx = empty(xShape);
  if (dx.size === 0) return dx;
  const k = rt().kernels;
  if (!p.bilinear) k.upsample2d_nhwc_f32_nearest_backward(g.ptr, dx.ptr, N, H, W, C, p.sh, p.sw);
  else k.upsample2d_nhwc_f32_bilinear_backward(g.ptr, dx.ptr, N, H, W, C, OH, OW, scale(H, OH, p.sh, p.align), scale(W, OW, p.sw, p.align), p.align);
  return dx;
}

function parse(op: string, options: UpSampling2dOptions | undefined): Plan {
  const o = expectOptions(op, options, ['size', 'interpolation', 'alignCorners']);
  if (o.size === undefined) throw new ArgumentError(`${op}: size is required (an integer ≥ 1 or [sh, sw])`);
  const [sh, sw] = pair(op, 'size', o.size as number | readonly number[], 1);
  const interpolation = o.interpolation ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
    throw new ArgumentError(`${op}: interpolation must be 'nearest' or 'bilinear', got ${JSON.stringify(interpolation)}`);
  }
  const align = expectBool(op, 'alignCorners', o.alignCorners, false);
  if (align && interpolation === 'nearest') throw new ArgumentError(`${op}: alignCorners applies to 'bilinear' only (as in PyTorch)`);
  return { sh, sw, bilinear: interpolation === 'bilinear', align };
}

/** PyTorch's area_pixel_compute_scale for an integer factor: (in − 1)/(out − 1) aligned (0 for one output), else 1/factor. */
function scale(size: number, out: number, factor: number, align: boolean): number {
  if (align) return out > 1 ? (size - 1) / (out - 1) : 0;
  return 1 / factor;
}
