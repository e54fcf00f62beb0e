// model.toOnnx(): a simdcnn model → ONNX bytes (opset 14) that ONNX Runtime and PyTorch tooling run
// with NCHW inputs. Feature maps are NCHW throughout the ONNX graph (weights moved HWIO → OIHW);
// where simdcnn's channels-last order matters (flatten, reshape) a Transpose to NHWC goes first, so
// every value equals simdcnn's up to that layout: 4-D outputs come out NCHW, 2-D outputs equal.
// Layers without an ONNX equivalent (locallyConnected2d, mixedPool2d, maxout, conv1d) are an
// ArgumentError naming the layer. Reads the weights; allocates nothing in wasm memory.
import { ArgumentError } from '../../errors.js';
import type { Layer } from '../../layers/layer.js';
import { parseActivation, type Activation, type ParsedActivation } from '../../ops/activation.js';
import { convPads, convTransposePads, poolPads, type Padding } from '../../ops/shape.js';
import type { Graph as ModelGraph } from '../../model/graph.js';
import { encodeModel, newModel } from './encode.js';
import type { Attribute, Graph, Node, Tensor, ValueInfo } from './ir.js';

const OPSET = 14;
type Pair = [number, number];
type Attrs = Record<string, number | number[] | string | { f: number }>;

function attributes(a: Attrs): Map<string, Attribute> {
  const m = new Map<string, Attribute>();
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'number') m.set(k, { type: 'int', value: v });
    else if (typeof v === 'string') m.set(k, { type: 'string', value: v });
    else if (Array.isArray(v)) m.set(k, { type: 'ints', value: v });
    else m.set(k, { type: 'float', value: v.f });
  }
  return m;
}

class Builder {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, Tensor>();
  private count = 0;
  fresh(base: string): string { return `${base}_${++this.count}`; }
  node(op: string, inputs: string[], attrs: Attrs = {}, name = op): string {
    const out = this.fresh(name);
    this.nodes.push({ name: out, opType: op, domain: '', inputs, outputs: [out], attributes: attributes(attrs) });
    return out;
  }
  float(base: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(base);
    this.initializers.set(name, { name, dims, dtype: 'float32', data });
    return name;
  }
  int64(base: string, data: number[]): string {
    const name = this.fresh(base);
    this.initializers.set(name, { name, dims: [data.length], dtype: 'int64', data });
    return name;
  }
}

const toNCHW = [0, 3, 1, 2], toNHWC = [0, 2, 3, 1];

/** HWIO-like [KH, KW, A, B] → [B, A, KH, KW] (ONNX's weight order for Conv: O, I; for ConvTranspose: Cin, Cout). */
function khwab(k: Float32Array, KH: number, KW: number, A: number, B: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let h = 0; h < KH; h++) for (let w = 0; w < KW; w++) for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
    out[((b * A + a) * KH + h) * KW + w] = k[((h * KW + w) * A + a) * B + b];
  }
  return out;
}

const onnxPads = (p: [Pair, Pair]): number[] => [p[0][0], p[1][0], p[0][1], p[1][1]];

function activation(b: Builder, x: string, act: ParsedActivation | null, rank: number, layer: Layer): string {
  if (!act || act.name === 'linear') return x;
  const lastAxis = rank === 4 ? 1 : rank - 1;
  switch (act.name) {
    case 'relu': return b.node('Relu', [x]);
    case 'relu6': return b.node('Clip', [x, b.float('zero', [], Float32Array.of(0)), b.float('six', [], Float32Array.of(6))]);
    case 'leakyRelu': return b.node('LeakyRelu', [x], { alpha: { f: act.alpha } });
    case 'elu': return b.node('Elu', [x], { alpha: { f: act.alpha } });
    case 'selu': return b.node('Selu', [x]);
    case 'sigmoid': return b.node('Sigmoid', [x]);
    case 'hardSigmoid': return b.node('HardSigmoid', [x], { alpha: { f: act.alpha }, beta: { f: act.beta ?? 0.5 } });
    case 'tanh': return b.node('Tanh', [x]);
    case 'hardSwish': return b.node('HardSwish', [x]);
    case 'swish': case 'silu': return b.node('Mul', [x, b.node('Sigmoid', [x])]);
    case 'gelu': {
      // 0.5·x·(1 + erf(x/√2))
      const e = b.node('Erf', [b.node('Mul', [x, b.float('rsqrt2', [], Float32Array.of(Math.SQRT1_2))])]);
      return b.node('Mul', [b.node('Mul', [x, b.float('half', [], Float32Array.of(0.5))]), b.node('Add', [e, b.float('one', [], Float32Array.of(1))])]);
    }
    case 'softmax': return b.node('Softmax', [x], { axis: lastAxis });
    case 'logSoftmax': return b.node('LogSoftmax', [x], { axis: lastAxis });
  }
  throw new ArgumentError(`toOnnx: ${layer.label}: activation '${act.name}' has no ONNX equivalent here`);
}

function parsed(a: unknown): ParsedActivation | null {
  return a === undefined || a === null ? null : parseActivation('toOnnx', a as Activation);
}

interface ConvGeom { filters: number; k: Pair; s: Pair; d: Pair; padding: Padding | undefined; groups: number; outputPadding: Pair; depthMultiplier: number }

/** The ONNX bytes of a model (see the file comment). @internal: call model.toOnnx(). */
export function exportOnnx(name: string, graph: ModelGraph): Uint8Array {
  const b = new Builder();
  const names: string[] = [];
  const shapes = graph.valueShapes; // per example, simdcnn layout
  const inputs: ValueInfo[] = graph.inputs.map((s, i) => {
    const shape = shapes[i];
    const n = s.inputName ?? `input_${i + 1}`;
    names[i] = n;
    if (shape.length === 3) return { name: n, dtype: 'float32', shape: ['N', shape[2], shape[0], shape[1]] };
    if (shape.length === 1) return { name: n, dtype: 'float32', shape: ['N', shape[0]] };
    throw new ArgumentError(`toOnnx: input '${n}' of shape [${shape}]: only [H, W, C] and [features] inputs are exported`);
  });
  for (const step of graph.steps) {
    const layer = step.layer;
    const xs = step.inputs.map((v) => names[v]);
    const inShape = shapes[step.inputs[0]], outShape = shapes[step.output];
    const rank = outShape.length + 1;
    const cfg = layer.getConfig();
    const w = (k: number): Float32Array => layer.params[k].view() as Float32Array;
    const unsupported = (why = 'has no ONNX equivalent'): never => { throw new ArgumentError(`toOnnx: ${layer.label} ${why}`); };
    const fused = (y: string): string => activation(b, y, parsed(cfg.activation), rank, layer);
    let y = '';
    switch (layer.type) {
      case 'conv2d': case 'depthwiseConv2d': case 'conv2dTranspose': case 'separableConv2d': {
        const g = (layer as unknown as { geometry?: ConvGeom }).geometry;
        const k = pairOf(cfg.kernelSize), s = pairOf(cfg.strides ?? 1), d = pairOf(cfg.dilationRate ?? 1);
        const padding = cfg.padding as Padding | undefined;
        const C = inShape[2], hw: Pair = [inShape[0], inShape[1]];
        const useBias = cfg.useBias !== false;
        const attrs = { kernel_shape: k, strides: s, dilations: d };
        if (layer.type === 'conv2dTranspose') {
          const groups = g?.groups ?? 1, Cout = outShape[2];
          const { pads, outPad } = convTransposePads(layer.label, padding, hw, k, s, d, pairOf(cfg.outputPadding ?? 0));
          const W = b.float('W', [C, Cout / groups, k[0], k[1]], khwab(w(0), k[0], k[1], Cout / groups, C));
          y = b.node('ConvTranspose', [xs[0], W, ...(useBias ? [b.float('B', [Cout], w(1).slice())] : [])], { ...attrs, pads: onnxPads(pads), output_padding: outPad, group: groups });
        } else if (layer.type === 'separableConv2d') {
          const dm = (cfg.depthMultiplier as number | undefined) ?? 1, F = outShape[2];
          const pads = onnxPads(convPads(layer.label, padding, hw, k, s, d));
          const dw = b.node('Conv', [xs[0], b.float('W', [C * dm, 1, k[0], k[1]], khwab(w(0), k[0], k[1], 1, C * dm))], { ...attrs, pads, group: C });
          y = b.node('Conv', [dw, b.float('W', [F, C * dm, 1, 1], khwab(w(1), 1, 1, C * dm, F)), ...(useBias ? [b.float('B', [F], w(2).slice())] : [])], { kernel_shape: [1, 1] });
        } else {
          const groups = layer.type === 'depthwiseConv2d' ? C : g?.groups ?? 1, Cout = outShape[2];
          const Ig = C / groups;
          const pads = onnxPads(convPads(layer.label, padding, hw, k, s, d));
          const W = b.float('W', [Cout, Ig, k[0], k[1]], khwab(w(0), k[0], k[1], Ig, Cout));
          y = b.node('Conv', [xs[0], W, ...(useBias ? [b.float('B', [Cout], w(1).slice())] : [])], { ...attrs, pads, group: groups });
        }
        y = fused(y);
        break;
      }
      case 'dense': {
        if (inShape.length !== 1) unsupported(`reads [${inShape}]; dense layers on rank ${inShape.length} examples are not exported (flatten first)`);
        const units = outShape[0];
        y = b.node('Gemm', [xs[0], b.float('W', [inShape[0], units], w(0).slice()), ...(cfg.useBias !== false ? [b.float('B', [units], w(1).slice())] : [])]);
        y = fused(y);
        break;
      }
      case 'activation': y = activation(b, xs[0], parsed(cfg.activation), rank, layer); break;
      case 'prelu': {
        const C = inShape[inShape.length - 1];
        y = b.node('PRelu', [xs[0], b.float('slope', rank === 4 ? [C, 1, 1] : [C], w(0).slice())]);
        break;
      }
      case 'maxPool2d': case 'avgPool2d': case 'lpPool2d': {
        const k = pairOf(cfg.poolSize), s = pairOf(cfg.strides ?? cfg.poolSize);
        const pads = onnxPads(poolPads(layer.label, cfg.padding as Padding | undefined, [inShape[0], inShape[1]], k, s));
        if (layer.type === 'lpPool2d') y = b.node('LpPool', [xs[0]], { kernel_shape: k, strides: s, p: Math.round(cfg.p as number) });
        else {
          const attrs: Attrs = { kernel_shape: k, strides: s, pads, ceil_mode: cfg.ceilMode ? 1 : 0 };
          if (layer.type === 'avgPool2d') attrs.count_include_pad = cfg.countIncludePad ? 1 : 0;
          y = b.node(layer.type === 'maxPool2d' ? 'MaxPool' : 'AveragePool', [xs[0]], attrs);
        }
        if (layer.type === 'lpPool2d' && (cfg.p as number) !== Math.round(cfg.p as number)) unsupported('with a fractional p (ONNX LpPool takes an integer p)');
        break;
      }
      case 'globalAvgPool2d': case 'globalMaxPool2d':
        y = b.node('Flatten', [b.node(layer.type === 'globalAvgPool2d' ? 'GlobalAveragePool' : 'GlobalMaxPool', [xs[0]])], { axis: 1 });
        break;
      case 'adaptiveAvgPool2d': case 'adaptiveMaxPool2d': {
        const [OH, OW] = [outShape[0], outShape[1]];
        const avg = layer.type === 'adaptiveAvgPool2d';
        if (OH === 1 && OW === 1) y = b.node(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', [xs[0]]);
        else if (inShape[0] % OH === 0 && inShape[1] % OW === 0) {
          const k = [inShape[0] / OH, inShape[1] / OW];
          y = b.node(avg ? 'AveragePool' : 'MaxPool', [xs[0]], { kernel_shape: k, strides: k });
        } else unsupported(`with output ${OH}×${OW} that does not divide the input ${inShape[0]}×${inShape[1]}`);
        break;
      }
      case 'batchNormalization': {
        const axis = cfg.axis as number | undefined;
        if (axis !== undefined && axis !== -1 && axis !== inShape.length) unsupported(`normalises axis ${axis}; only the channel (last) axis is exported`);
        const C = inShape[inShape.length - 1];
        const p = (n: string, fill: number): string => {
          const i = layer.paramNames.indexOf(n);
          return b.float(n, [C], i >= 0 ? w(i).slice() : new Float32Array(C).fill(fill));
        };
        y = b.node('BatchNormalization', [xs[0], p('gamma', 1), p('beta', 0), p('movingMean', 0), p('movingVariance', 1)], { epsilon: { f: (cfg.epsilon as number | undefined) ?? 1e-3 } });
        break;
      }
      case 'add': case 'multiply': {
        if (step.inputs.some((v) => shapes[v].length !== outShape.length)) unsupported('broadcasts operands of different ranks; not exported');
        y = xs.slice(1).reduce((acc, v) => b.node(layer.type === 'add' ? 'Add' : 'Mul', [acc, v]), xs[0]);
        break;
      }
      case 'concatenate': {
        const a0 = (cfg.axis as number | undefined) ?? -1;
        const a = a0 < 0 ? a0 + rank : a0;
        y = b.node('Concat', xs, { axis: rank === 4 ? [0, 2, 3, 1][a] : a });
        break;
      }
      case 'upSampling2d': {
        const [sh, sw] = pairOf(cfg.size ?? 2);
        const bl = cfg.interpolation === 'bilinear';
        const scales = b.float('scales', [4], Float32Array.of(1, 1, sh, sw));
        y = b.node('Resize', [xs[0], '', scales], bl
          ? { mode: 'linear', coordinate_transformation_mode: cfg.alignCorners ? 'align_corners' : 'half_pixel' }
          : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
        break;
      }
      case 'resizing': {
        // Scales (sizes would need the batch): out/in in float32, nudged up so that floor(in·scale) = out in float and double.
        const scale = (i: number, o: number): number => {
          let v = Math.fround(o / i);
          while (i * v < o) v = Math.fround(v * (1 + 2 ** -23));
          return v;
        };
        const scales = b.float('scales', [4], Float32Array.of(1, 1, scale(inShape[0], outShape[0]), scale(inShape[1], outShape[1])));
        const bl = cfg.interpolation !== 'nearest';
        y = b.node('Resize', [xs[0], '', scales], bl
          ? { mode: 'linear', coordinate_transformation_mode: cfg.alignCorners ? 'align_corners' : 'half_pixel' }
          : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
        break;
      }
      case 'zeroPadding2d': {
        const p = cfg.padding as [Pair, Pair];
        y = b.node('Pad', [xs[0], b.int64('pads', [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]])]);
        break;
      }
      case 'flatten': case 'reshape': {
        const src = inShape.length === 3 ? b.node('Transpose', [xs[0]], { perm: toNHWC }) : xs[0];
        if (layer.type === 'flatten') y = b.node('Flatten', [src], { axis: 1 });
        else {
          y = b.node('Reshape', [src, b.int64('shape', [0, ...outShape])]);
          if (outShape.length === 3) y = b.node('Transpose', [y], { perm: toNCHW });
        }
        break;
      }
      case 'dropout': y = b.node('Identity', [xs[0]]); break;
      default: y = unsupported();
    }
    names[step.output] = y;
  }
  const outputs: ValueInfo[] = graph.outputValues.map((v, i) => {
    const s = shapes[v];
    const n = `output${graph.outputValues.length > 1 ? `_${i + 1}` : ''}`;
    b.nodes.push({ name: n, opType: 'Identity', domain: '', inputs: [names[v]], outputs: [n], attributes: new Map() });
    return { name: n, dtype: 'float32', shape: s.length === 3 ? ['N', s[2], s[0], s[1]] : ['N', ...s] };
  });
  const g: Graph = { name, inputs, outputs, initializers: b.initializers, nodes: b.nodes };
  return encodeModel(newModel(g, OPSET));
}

function pairOf(v: unknown): Pair {
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0], a[1]];
}
