import { ArgumentError } from '../errors.js';
import { zeros, type Tensor } from '../tensor.js';
import { pad2d, pad2dBackward } from '../ops/pad.js';
import { upSampling2d, upSampling2dBackward } from '../ops/upsample.js';
import { Layer, type Context, type Gradients } from './layer.js';
import { bool, intPair, layerOptions, oneOf, positiveInt, type Pair } from './options.js';

// Layers that change the spatial size without weights: upsampling (decoders, U-Nets, FPNs) and
// zero padding.

export interface UpSampling2dLayerOptions { size?: Pair; interpolation?: 'nearest' | 'bilinear'; alignCorners?: boolean; name?: string }

/** Upsample [H, W, C] by integer factors: nearest (Keras/PyTorch) or bilinear (half-pixel centres; alignCorners as PyTorch's). */
export class UpSampling2dLayer extends Layer {
  readonly type = 'upSampling2d';
  private readonly size: [number, number];
  private readonly interpolation: 'nearest' | 'bilinear';
  private readonly alignCorners: boolean;
  constructor(options: UpSampling2dLayerOptions = {}) {
    const op = 'layers.upSampling2d';
    const o = layerOptions<UpSampling2dLayerOptions>(op, options, ['size', 'interpolation', 'alignCorners', 'name']);
    super(o.name);
    this.size = intPair(op, 'size', o.size, 2);
    this.interpolation = oneOf(op, 'interpolation', o.interpolation, ['nearest', 'bilinear'] as const, 'nearest');
    this.alignCorners = bool(op, 'alignCorners', o.alignCorners, false);
    if (this.alignCorners && this.interpolation === 'nearest') throw new ArgumentError(`${op}: alignCorners applies to bilinear interpolation only`);
  }
  private opts() { return { size: this.size, interpolation: this.interpolation, alignCorners: this.alignCorners }; }
  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, 3, 'an [H, W, C]');
    return [s[0] * this.size[0], s[1] * this.size[1], s[2]];
  }
  forward([x]: Tensor[]): Tensor { return upSampling2d(x, this.opts()); }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    return { dxs: [needDx[0] ? upSampling2dBackward(dy, ctx.inputs[0].shape, this.opts()) : null], grads: [] };
  }
  getConfig(): Record<string, unknown> {
    return { size: this.size.slice(), interpolation: this.interpolation, ...(this.alignCorners ? { alignCorners: true } : {}) };
  }
}

export interface ZeroPadding2dLayerOptions { padding?: number | [number, number] | [[number, number], [number, number]]; name?: string }

/** Pad [H, W, C] with zeros: padding n, [ph, pw] (symmetric) or [[top, bottom], [left, right]] (Keras). */
export class ZeroPadding2dLayer extends Layer {
  readonly type = 'zeroPadding2d';
  private readonly pads: [[number, number], [number, number]];
  constructor(options: ZeroPadding2dLayerOptions = {}) {
    const op = 'layers.zeroPadding2d';
    const o = layerOptions<ZeroPadding2dLayerOptions>(op, options, ['padding', 'name']);
    super(o.name);
    const p = o.padding ?? 1;
    if (Array.isArray(p) && p.length === 2 && Array.isArray(p[0])) {
      const t = intPair(op, 'padding[0]', p[0], undefined, 0), l = intPair(op, 'padding[1]', p[1], undefined, 0);
      this.pads = [t, l];
    } else {
      const [h, w] = intPair(op, 'padding', p, undefined, 0);
      this.pads = [[h, h], [w, w]];
    }
  }
  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, 3, 'an [H, W, C]');
    return [s[0] + this.pads[0][0] + this.pads[0][1], s[1] + this.pads[1][0] + this.pads[1][1], s[2]];
  }
  forward([x]: Tensor[]): Tensor { return pad2d(x, { padding: this.pads }); }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    return { dxs: [needDx[0] ? pad2dBackward(dy, ctx.inputs[0].shape, { padding: this.pads }) : null], grads: [] };
  }
  getConfig(): Record<string, unknown> { return { padding: this.pads.map((p) => p.slice()) }; }
}

export interface ResizingLayerOptions { height: number; width: number; interpolation?: 'nearest' | 'bilinear'; alignCorners?: boolean; name?: string }

/** Per output index along one axis: the two source indices and the weight of the second. */
function axisTable(inSize: number, outSize: number, bilinear: boolean, alignCorners: boolean): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize), f = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    if (!bilinear) {
      i0[o] = i1[o] = Math.min(inSize - 1, Math.floor(o * inSize / outSize));
      continue;
    }
    const src = alignCorners ? (outSize > 1 ? o * (inSize - 1) / (outSize - 1) : 0) : Math.max(0, (o + 0.5) * inSize / outSize - 0.5);
    const lo = Math.min(inSize - 1, Math.floor(src));
    i0[o] = lo;
    i1[o] = Math.min(inSize - 1, lo + 1);
    f[o] = src - lo;
  }
  return { i0, i1, f };
}

/**
 * Resize [H, W, C] to [height, width] (any sizes, up or down; Keras's Resizing without cropping):
 * nearest as PyTorch's (source floor(o·in/out)) or bilinear (half-pixel centres, or alignCorners as
 * PyTorch's). For integer upsampling, upSampling2d runs the SIMD kernels; this layer runs in JS.
 */
export class ResizingLayer extends Layer {
  readonly type = 'resizing';
  private readonly size: [number, number];
  private readonly interpolation: 'nearest' | 'bilinear';
  private readonly alignCorners: boolean;
  constructor(options: ResizingLayerOptions) {
    const op = 'layers.resizing';
    const o = layerOptions<ResizingLayerOptions>(op, options, ['height', 'width', 'interpolation', 'alignCorners', 'name'], ['height', 'width']);
    super(o.name);
    this.size = [positiveInt(op, 'height', o.height), positiveInt(op, 'width', o.width)];
    this.interpolation = oneOf(op, 'interpolation', o.interpolation, ['nearest', 'bilinear'] as const, 'bilinear');
    this.alignCorners = bool(op, 'alignCorners', o.alignCorners, false);
    if (this.alignCorners && this.interpolation === 'nearest') throw new ArgumentError(`${op}: alignCorners applies to bilinear interpolation only`);
  }
  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, 3, 'an [H, W, C]');
    return [this.size[0], this.size[1], s[2]];
  }
  /** Run over every (output pixel, corner): visit(outOffset, inOffset, weight) per channel block. */
  private walk(shape: readonly number[], visit: (o: number, i: number, w: number, C: number) => void): void {
    const [N, H, W, C] = shape;
    const [OH, OW] = this.size;
    const bl = this.interpolation === 'bilinear';
    const ty = axisTable(H, OH, bl, this.alignCorners), tx = axisTable(W, OW, bl, this.alignCorners);
    for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const o = ((n * OH + oh) * OW + ow) * C, fy = ty.f[oh], fx = tx.f[ow];
      const row = (h: number, w: number): number => ((n * H + h) * W + w) * C;
      visit(o, row(ty.i0[oh], tx.i0[ow]), (1 - fy) * (1 - fx), C);
      if (!bl) continue;
      visit(o, row(ty.i0[oh], tx.i1[ow]), (1 - fy) * fx, C);
      visit(o, row(ty.i1[oh], tx.i0[ow]), fy * (1 - fx), C);
      visit(o, row(ty.i1[oh], tx.i1[ow]), fy * fx, C);
    }
  }
  forward([x]: Tensor[]): Tensor {
    const y = zeros([x.shape[0], this.size[0], this.size[1], x.shape[3]]);
    const xs = x.view(), ys = y.view();
    this.walk(x.shape, (o, i, w, C) => { if (w) for (let c = 0; c < C; c++) ys[o + c] += w * xs[i + c]; });
    return y;
  }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    if (!needDx[0]) return { dxs: [null], grads: [] };
    const dx = zeros(ctx.inputs[0].shape);
    const ds = dy.view(), dxs = dx.view();
    this.walk(dx.shape, (o, i, w, C) => { if (w) for (let c = 0; c < C; c++) dxs[i + c] += w * ds[o + c]; });
    return { dxs: [dx], grads: [] };
  }
  getConfig(): Record<string, unknown> {
    return { height: this.size[0], width: this.size[1], interpolation: this.interpolation, ...(this.alignCorners ? { alignCorners: true } : {}) };
  }
}
