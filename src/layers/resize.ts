import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { pad2d, pad2dBackward } from '../ops/pad.js';
import { upSampling2d, upSampling2dBackward } from '../ops/upsample.js';
import { Layer, type Context, type Gradients } from './layer.js';
import { bool, intPair, layerOptions, oneOf, type Pair } from './options.js';

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
