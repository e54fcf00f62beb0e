// The ONNX importer's mapper: a graph that went through every pass (./passes) becomes a list of
// layer specs — a simdcnn layer type, its options, the values it reads and writes, and its weights
// already in simdcnn's layouts (OIHW → HWIO, Gemm/MatMul transposes, flatten row gathers). Pure
// JavaScript: nothing here touches wasm memory, so every check runs before anything is allocated.
// Peepholes: a constant Add/Sub/Mul/Div after a convolution or dense layer folds into its weights,
// and an activation whose input nothing else reads fuses into the layer's `activation` option.
import { ArgumentError } from '../../errors.js';
import type { LayerType } from '../../layers/index.js';
import { attrFloat, attrInt, attrInts, attrString, readers, type Graph, type Model, type Node, type NodeLayout, type Tensor, type ValueLayout } from './ir.js';
import { resolveConvTransposePads, resolvePads, unsupported } from './passes/shapes.js';
import { simdcnnShape } from './passes/layout.js';
import { relayout } from '../../ops/pack.js';

export interface LayerSpec {
  type: LayerType;
  options: Record<string, unknown>;
  /** Value names read (resolved through aliases). */
  inputs: string[];
  output: string;
  weights?: Float32Array[];
  /** The ONNX node it came from (names the layer; errors name it). */
  node: Node;
}

export interface MappedGraph {
  inputs: Array<{ name: string; shape: number[] }>;
  outputs: string[];
  specs: LayerSpec[];
}

const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip', 'Softmax', 'LogSoftmax']);
const FUSABLE = new Set<LayerType>(['conv2d', 'depthwiseConv2d', 'conv2dTranspose', 'dense']);
const where = (node: Node): string => `onnx: node '${node.name}' (${node.opType})`;

/** Map an optimized model (graph.shapes, layouts, nodeLayouts set) onto layer specs. */
export function mapGraph(model: Model): MappedGraph {
  const graph = model.graph;
  const shapes = graph.shapes!, layouts = graph.layouts!, nodeLayouts = graph.nodeLayouts!;
  const alias = new Map<string, string>();
  const resolve = (n: string): string => alias.get(n) ?? n;
  const producer = new Map<string, LayerSpec>();
  const specs: LayerSpec[] = [];
  const read = readers(graph);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const runtime = new Set<string>(graph.inputs.map((i) => i.name));

  const onnxShape = (n: string): number[] => shapes.get(n)!.shape.map((d) => (typeof d === 'number' ? d : 1));
  const lay = (n: string): ValueLayout => layouts.get(n)!;
  /** simdcnn's shape of one example (no batch). */
  const exampleShape = (n: string): number[] => (simdcnnShape(lay(n), onnxShape(n)) as number[]).slice(1);
  const constant = (node: Node, k: number): Tensor => {
    const t = graph.initializers.get(node.inputs[k]);
    if (!t) throw new ArgumentError(`${where(node)}: input ${k} '${node.inputs[k]}' must be a constant (an initializer)`);
    return t;
  };
  const floats = (node: Node, k: number): Float32Array => {
    const t = constant(node, k);
    if (t.dtype !== 'float32') throw new ArgumentError(`${where(node)}: input ${k} '${t.name}' must be float32, got ${t.dtype}`);
    return t.data as Float32Array;
  };
  const scalars = (node: Node, k: number): number[] | null => {
    if (!node.inputs[k]) return null;
    return Array.from(constant(node, k).data as ArrayLike<number>);
  };
  const emit = (node: Node, type: LayerType, options: Record<string, unknown>, inputs: string[], weights?: Float32Array[]): LayerSpec => {
    for (const i of inputs) if (!runtime.has(resolve(i))) throw new ArgumentError(`${where(node)}: input '${i}' must be computed at run time here (a constant operand is not supported)`);
    const spec: LayerSpec = { type, options, inputs: inputs.map(resolve), output: node.outputs[0], node };
    if (weights) spec.weights = weights;
    specs.push(spec);
    producer.set(spec.output, spec);
    runtime.add(spec.output);
    return spec;
  };
  const emitSpec = (node: Node, [type, options, weights]: Spec, inputs: string[]): LayerSpec => emit(node, type, options, inputs, weights.length ? weights : undefined);
  const same = (node: Node): void => {
    alias.set(node.outputs[0], resolve(node.inputs[0]));
    runtime.add(node.outputs[0]);
  };
  /** The Mul that makes `sig` (a Sigmoid) a silu: Mul(x, Sigmoid(x)), the sigmoid read by nothing else. */
  const siluMul = (sig: Node): Node | null => {
    const x = sig.inputs[0], s = sig.outputs[0];
    const r = read.get(s);
    if (!r || r.length !== 1 || graphOutputs.has(s) || r[0].opType !== 'Mul') return null;
    const ins = r[0].inputs;
    return ins.length === 2 && (ins[0] === x && ins[1] === s || ins[0] === s && ins[1] === x) ? r[0] : null;
  };
  /** The spec that produced `value` when nothing else reads it (a fold or fusion target). */
  const soleProducer = (value: string): LayerSpec | null => {
    const p = producer.get(value);
    if (!p || graphOutputs.has(value) || (read.get(value)?.length ?? 0) !== 1) return null;
    return p;
  };

  // PyTorch exports SiLU (EfficientNet's activation) as Mul(x, Sigmoid(x)): the pair becomes one
  // silu, fused into the layer before it like any activation. Mul node → x.
  const siluOf = new Map<Node, string>();

  for (const node of graph.nodes) {
    const nl: NodeLayout = nodeLayouts.get(node.name) ?? {};
    if (node.outputs.slice(1).some((o) => o && (read.has(o) || graphOutputs.has(o)))) {
      throw new ArgumentError(`${where(node)}: its extra outputs (${node.outputs.slice(1).join(', ')}) are read; simdcnn computes the first output only`);
    }
    node.inputs.forEach((name, k) => {
      if (!name || !runtime.has(resolve(name)) || !nl.inputPerms) return;
      const want = nl.inputPerms[k];
      const have = lay(name).perm;
      if (want.length !== have.length || want.some((a, i) => a !== have[i])) {
        throw new ArgumentError(`${where(node)}: input '${name}' would need a transpose (from axes [${have}] to [${want}]), which simdcnn does not import`);
      }
    });
    const op = node.opType;
    const x = node.inputs[0];
    if (op === 'Conv' || op === 'ConvTranspose') {
      emitSpec(node, convSpec(node, onnxShape(x), constant(node, 1), node.inputs[2] ? floats(node, 2) : null), [x]);
    } else if (op === 'Gemm' || op === 'MatMul') {
      emitSpec(node, denseSpec(node, onnxShape(x), constant(node, 1), op === 'Gemm' && node.inputs[2] ? constant(node, 2) : null, nl.weightRows), [x]);
    } else if (op === 'Sigmoid' && siluMul(node)) {
      siluOf.set(siluMul(node)!, x);
      runtime.add(node.outputs[0]);
    } else if (siluOf.has(node)) {
      const v = siluOf.get(node)!;
      const p = producer.get(v);
      const sole = p && !graphOutputs.has(v) && read.get(v)?.length === 2;
      if (p && sole && FUSABLE.has(p.type) && p.options.activation === undefined) {
        p.options.activation = 'silu';
        alias.set(node.outputs[0], p.output);
      } else emit(node, 'activation', { activation: 'silu' }, [v]);
    } else if (ACTIVATIONS.has(op)) {
      const act = activationOf(node, model.opset, nl, exampleShape(x).length + 1, scalars);
      const p = act === 'relu' || act === 'relu6' || typeof act === 'object' || !['softmax', 'logSoftmax'].includes(act as string) ? soleProducer(x) : null;
      if (act === null) same(node);
      else if (p && FUSABLE.has(p.type) && p.options.activation === undefined) {
        p.options.activation = act;
        alias.set(node.outputs[0], p.output);
      } else emit(node, 'activation', { activation: act }, [x]);
    } else if (op === 'PRelu') {
      emit(node, 'prelu', {}, [x], [perChannel(node, constOperand(node, 1, nl, onnxShape(node.outputs[0]).length, graph), exampleShape(x))]);
    } else if (op === 'Add' || op === 'Sub' || op === 'Mul' || op === 'Div') {
      const consts = node.inputs.map((n) => graph.initializers.has(n));
      if (!consts.some(Boolean)) {
        if (op === 'Sub' || op === 'Div') throw new ArgumentError(`${where(node)}: ${op} of two run-time values is not supported (only with a constant that folds into the preceding layer)`);
        emit(node, op === 'Add' ? 'add' : 'multiply', {}, node.inputs);
      } else {
        const k = consts[1] ? 1 : 0;
        const other = node.inputs[1 - k];
        if (consts[1 - k]) throw new ArgumentError(`${where(node)}: both operands are constants`);
        if ((op === 'Sub' || op === 'Div') && k === 0) throw new ArgumentError(`${where(node)}: ${op} with a constant first operand is not supported`);
        const c = constOperand(node, k, nl, onnxShape(node.outputs[0]).length, graph);
        const p = soleProducer(other);
        if (!p || !foldIntoProducer(p, op, c, exampleShape(other))) {
          throw new ArgumentError(`${where(node)}: ${op} with a constant that does not fold into a preceding convolution or dense layer is not supported`);
        }
        alias.set(node.outputs[0], p.output);
      }
    } else if (op === 'Concat') {
      const a = nl.axes![0];
      if (a === 0) throw new ArgumentError(`${where(node)}: concatenation along the batch is not supported`);
      emit(node, 'concatenate', { axis: a }, node.inputs.filter(Boolean));
    } else if (op === 'MaxPool' || op === 'AveragePool' || op === 'LpPool') {
      emitSpec(node, poolSpec(node, onnxShape(x)), [x]);
    } else if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
      emit(node, op === 'GlobalAveragePool' ? 'adaptiveAvgPool2d' : 'adaptiveMaxPool2d', { outputSize: 1 }, [x]);
    } else if (op === 'BatchNormalization') {
      const eps = attrFloat(node, 'epsilon', 1e-5), momentum = attrFloat(node, 'momentum', 0.9);
      emit(node, 'batchNormalization', { epsilon: eps, momentum }, [x], [1, 2, 3, 4].map((k) => floats(node, k).slice()));
    } else if (op === 'Flatten' || op === 'Reshape' || op === 'Squeeze' || op === 'Unsqueeze') {
      const from = exampleShape(x), to = exampleShape(node.outputs[0]);
      if (nl.reshape === 'to-onnx-order') throw new ArgumentError(`${where(node)}: this reshape of a feature map needs its NCHW order (a channel shuffle, or a flatten read by something other than Gemm/MatMul), which simdcnn does not import`);
      if (nl.reshape === 'flatten-hwc' || to.length === 1 && from.length > 1) emit(node, 'flatten', {}, [x]);
      else if (from.length === to.length && from.every((d, i) => d === to[i])) same(node);
      else emit(node, 'reshape', { targetShape: to }, [x]);
    } else if (op === 'Transpose') {
      if (!nl.perm || nl.perm.some((a, i) => a !== i)) throw new ArgumentError(`${where(node)}: a transpose that moves data in simdcnn's layout is not supported`);
      same(node);
    } else if (op === 'Pad') {
      emit(node, 'zeroPadding2d', { padding: padSpec(node, model.opset, onnxShape(x).length, scalars) }, [x]);
    } else if (op === 'Resize' || op === 'Upsample') {
      emit(node, ...resizeSpec(node, model.opset, onnxShape(x), onnxShape(node.outputs[0])), [x]);
    } else if (op === 'Identity' || op === 'Dropout') {
      same(node);
    } else {
      throw unsupported(node, model.opset);
    }
  }
  const inputs = graph.inputs.map((i) => ({ name: i.name, shape: exampleShape(i.name) }));
  const outputs = graph.outputs.map((o) => {
    const l = lay(o.name);
    const r = l.perm.length;
    const ok = l.featureMap || l.perm.every((a, i) => a === i);
    if (!ok || l.flat) throw new ArgumentError(`onnx: graph output '${o.name}' is held transposed (axes [${l.perm}] of rank ${r}); simdcnn does not import that`);
    const v = resolve(o.name);
    if (!producer.has(v) && !graph.inputs.some((i) => i.name === v)) throw new ArgumentError(`onnx: graph output '${o.name}' is a constant; simdcnn models compute their outputs`);
    return v;
  });
  return { inputs, outputs, specs };
}

// ---- per-operator specs ----

type Spec = [LayerType, Record<string, unknown>, Float32Array[]];

function floatTensor(node: Node, t: Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new ArgumentError(`${where(node)}: '${t.name}' must be float32, got ${t.dtype}`);
  return t.data as Float32Array;
}

function spatial(node: Node, name: string, v: number[] | undefined, fallback: number): [number, number] {
  const a = v ?? [fallback, fallback];
  if (a.length !== 2) throw new ArgumentError(`${where(node)}: ${name} [${a}]: simdcnn imports 2-D ${node.opType} only`);
  return [a[0], a[1]];
}

const padPairs = (p: number[]): [[number, number], [number, number]] => [[p[0], p[2]], [p[1], p[3]]];

function convSpec(node: Node, xs: number[], wt: Tensor, bias: Float32Array | null): Spec {
  if (xs.length !== 4) throw new ArgumentError(`${where(node)}: input of rank ${xs.length}; simdcnn imports 2-D convolutions (rank 4) only`);
  const W = floatTensor(node, wt);
  const [A, B, KH, KW] = wt.dims;
  const Cin = xs[1];
  const group = attrInt(node, 'group', 1);
  const strides = spatial(node, 'strides', attrInts(node, 'strides'), 1);
  const dil = spatial(node, 'dilations', attrInts(node, 'dilations'), 1);
  const weights = (k: Float32Array): Float32Array[] => (bias ? [k, bias.slice()] : [k]);
  if (node.opType === 'ConvTranspose') {
    // ONNX [Cin, Cout/g, KH, KW] → simdcnn [KH, KW, Cout/g, Cin].
    const { pads, outputPadding } = resolveConvTransposePads(node, xs.slice(2), [KH, KW], strides, dil);
    const k = relayout(W, A, B, KH * KW);
    return ['conv2dTranspose', {
      filters: B * group, kernelSize: [KH, KW], strides, padding: padPairs(pads), outputPadding, dilationRate: dil, groups: group, useBias: !!bias,
    }, weights(k)];
  }
  // ONNX [Cout, Cin/g, KH, KW] → simdcnn [KH, KW, Cin/g, Cout] (depthwise: [KH, KW, 1, C·dm], the same formula).
  const pads = resolvePads(node, xs.slice(2), [KH, KW], strides, dil);
  const k = relayout(W, A, B, KH * KW);
  const common = { kernelSize: [KH, KW], strides, padding: padPairs(pads), dilationRate: dil, useBias: !!bias };
  if (group > 1 && group === Cin && B === 1) return ['depthwiseConv2d', { ...common, depthMultiplier: A / Cin }, weights(k)];
  return ['conv2d', { filters: A, ...common, ...(group > 1 ? { groups: group } : {}) }, weights(k)];
}

function denseSpec(node: Node, xs: number[], bt: Tensor, ct: Tensor | null, rows: Int32Array | undefined): Spec {
  if (xs.length !== 2) throw new ArgumentError(`${where(node)}: input of rank ${xs.length}; simdcnn imports ${node.opType} on [N, features] only`);
  const gemm = node.opType === 'Gemm';
  if (gemm && attrInt(node, 'transA', 0)) throw new ArgumentError(`${where(node)}: transA = 1 is not supported`);
  if (bt.dims.length !== 2) throw new ArgumentError(`${where(node)}: weights of rank ${bt.dims.length}, expected 2`);
  const Bm = floatTensor(node, bt);
  const transB = gemm && attrInt(node, 'transB', 0) === 1;
  const alpha = gemm ? attrFloat(node, 'alpha', 1) : 1, beta = gemm ? attrFloat(node, 'beta', 1) : 1;
  const K = transB ? bt.dims[1] : bt.dims[0], U = transB ? bt.dims[0] : bt.dims[1];
  if (K !== xs[1]) throw new ArgumentError(`${where(node)}: weights [${bt.dims}] do not fit input features ${xs[1]}`);
  // Row r of the kernel is row rows[r] of B (or of Bᵀ, read in tiles of 16 columns of B); a plain
  // Bᵀ (PyTorch's Linear) is one wasm relayout.
  const plainT = transB && !rows && alpha === 1;
  const kernel = plainT ? relayout(Bm, U, K, 1) : new Float32Array(K * U);
  for (let u0 = 0; u0 < U && !plainT; u0 += transB ? 16 : U) {
    const u1 = transB ? Math.min(U, u0 + 16) : U;
    for (let r = 0; r < K; r++) {
      const src = rows ? rows[r] : r;
      let d = r * U + u0;
      if (transB) for (let u = u0, at = u0 * K + src; u < u1; u++, at += K) kernel[d++] = alpha * Bm[at];
      else for (let u = 0, at = src * U; u < U; u++) kernel[d++] = alpha * Bm[at++];
    }
  }
  if (!ct) return ['dense', { units: U, useBias: false }, [kernel]];
  const C = floatTensor(node, ct);
  const n = C.length;
  if (!(n === 1 || n === U) || ct.dims.length > 2 || ct.dims.length === 2 && ct.dims[0] !== 1) {
    throw new ArgumentError(`${where(node)}: bias [${ct.dims}] must be [${U}], [1, ${U}] or a scalar`);
  }
  const bias = new Float32Array(U);
  for (let u = 0; u < U; u++) bias[u] = beta * C[n === 1 ? 0 : u];
  return ['dense', { units: U }, [kernel, bias]];
}

function poolSpec(node: Node, xs: number[]): Spec {
  if (xs.length !== 4) throw new ArgumentError(`${where(node)}: input of rank ${xs.length}; simdcnn imports 2-D pooling (rank 4) only`);
  const k = spatial(node, 'kernel_shape', attrInts(node, 'kernel_shape'), 0);
  const strides = spatial(node, 'strides', attrInts(node, 'strides'), 1);
  const dil = spatial(node, 'dilations', attrInts(node, 'dilations'), 1);
  if (dil[0] !== 1 || dil[1] !== 1) throw new ArgumentError(`${where(node)}: dilated pooling is not supported`);
  if (attrInt(node, 'storage_order', 0)) throw new ArgumentError(`${where(node)}: storage_order 1 is not supported`);
  const pads = resolvePads(node, xs.slice(2), k, strides, dil);
  const ceilMode = attrInt(node, 'ceil_mode', 0) === 1;
  if (node.opType === 'LpPool') {
    if (pads.some((p) => p) || ceilMode) throw new ArgumentError(`${where(node)}: LpPool with padding or ceil_mode is not supported`);
    return ['lpPool2d', { p: attrInt(node, 'p', 2), poolSize: k, strides }, []];
  }
  const o: Record<string, unknown> = { poolSize: k, strides, padding: padPairs(pads), ceilMode };
  if (node.opType === 'AveragePool') return ['avgPool2d', { ...o, countIncludePad: attrInt(node, 'count_include_pad', 0) === 1 }, []];
  return ['maxPool2d', o, []];
}

type Scalars = (node: Node, k: number) => number[] | null;

function activationOf(node: Node, opset: number, nl: NodeLayout, rank: number, scalars: Scalars): unknown {
  switch (node.opType) {
    case 'Relu': return 'relu';
    case 'Sigmoid': return 'sigmoid';
    case 'Tanh': return 'tanh';
    case 'HardSwish': return 'hardSwish';
    case 'LeakyRelu': return { name: 'leakyRelu', alpha: attrFloat(node, 'alpha', 0.01) };
    case 'Elu': return { name: 'elu', alpha: attrFloat(node, 'alpha', 1) };
    case 'HardSigmoid': return { name: 'hardSigmoid', alpha: attrFloat(node, 'alpha', 0.2), beta: attrFloat(node, 'beta', 0.5) };
    case 'Selu': {
      const a = attrFloat(node, 'alpha', 1.67326319217681884765625), g = attrFloat(node, 'gamma', 1.05070102214813232421875);
      if (Math.abs(a - 1.6732632) > 1e-6 || Math.abs(g - 1.050701) > 1e-6) throw new ArgumentError(`${where(node)}: Selu with alpha ${a}, gamma ${g}: simdcnn's selu has the standard constants only`);
      return 'selu';
    }
    case 'Softmax': case 'LogSoftmax': {
      const axes = nl.axes ?? [];
      if (axes.length !== 1 || axes[0] !== rank - 1) throw new ArgumentError(`${where(node)}: over simdcnn axes [${axes}]; simdcnn normalises over the last (channel) axis only`);
      return node.opType === 'Softmax' ? 'softmax' : 'logSoftmax';
    }
    case 'Clip': {
      const lo = opset >= 11 ? scalars(node, 1)?.[0] ?? -Infinity : attrFloat(node, 'min', -Infinity);
      const hi = opset >= 11 ? scalars(node, 2)?.[0] ?? Infinity : attrFloat(node, 'max', Infinity);
      if (lo === 0 && hi === 6) return 'relu6';
      if (lo === 0 && hi === Infinity) return 'relu';
      if (lo === -Infinity && hi === Infinity) return null;
      throw new ArgumentError(`${where(node)}: Clip to [${lo}, ${hi}] is not supported (min 0 with max 6 or none are: relu6, relu)`);
    }
  }
  throw unsupported(node, opset);
}

/** A constant operand of a broadcasting op, laid out as simdcnn holds the output: dims without the batch, data. */
function constOperand(node: Node, k: number, nl: NodeLayout, rank: number, graph: Graph): { dims: number[]; data: Float32Array } {
  const t = graph.initializers.get(node.inputs[k])!;
  const src = floatTensor(node, t);
  if (t.dims.length > rank) throw new ArgumentError(`${where(node)}: constant '${t.name}' [${t.dims}] has a higher rank than the output`);
  const dims = [...new Array<number>(rank - t.dims.length).fill(1), ...t.dims];
  const perm = nl.inputPerms?.[k]?.length === rank ? nl.inputPerms[k] : dims.map((_, i) => i);
  const out = perm.map((a) => dims[a]);
  if (out[0] !== 1) throw new ArgumentError(`${where(node)}: constant '${t.name}' [${t.dims}] varies along the batch`);
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) { strides[i] = s; s *= dims[i]; }
  const data = new Float32Array(src.length);
  const idx = new Array<number>(rank).fill(0);
  for (let j = 0; j < data.length; j++) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += idx[i] * strides[perm[i]];
    data[j] = src[off];
    for (let i = rank - 1; i >= 0 && ++idx[i] === out[i]; i--) idx[i] = 0;
  }
  return { dims: out.slice(1), data };
}

/** The constant as one value per channel (the last simdcnn axis) of an output of shape `shape`, or null if it varies elsewhere. */
function channelValues(c: { dims: number[]; data: Float32Array }, channels: number): Float32Array | null {
  const last = c.dims[c.dims.length - 1] ?? 1;
  if (c.data.length !== last || !(last === 1 || last === channels)) return null;
  return Float32Array.from({ length: channels }, (_, i) => c.data[last === 1 ? 0 : i]);
}

function perChannel(node: Node, c: { dims: number[]; data: Float32Array }, shape: number[]): Float32Array {
  const v = channelValues(c, shape[shape.length - 1]);
  if (!v) throw new ArgumentError(`${where(node)}: slope [${c.dims}] must be one value per channel or a scalar`);
  return v;
}

/** Fold y = p(x) ∘ c into p's weights (Add/Sub: bias; Mul/Div: kernel columns and bias); false if it cannot. */
function foldIntoProducer(p: LayerSpec, op: string, c: { dims: number[]; data: Float32Array }, shape: number[]): boolean {
  if (!FUSABLE.has(p.type) || p.options.activation !== undefined || !p.weights) return false;
  const C = shape[shape.length - 1];
  const v = channelValues(c, C);
  if (!v) return false;
  if (op === 'Sub') v.forEach((a, i) => { v[i] = -a; });
  if (op === 'Div') v.forEach((a, i) => { v[i] = 1 / a; });
  if (op === 'Add' || op === 'Sub') {
    if (p.options.useBias === false) { p.options.useBias = true; p.weights.push(new Float32Array(C)); }
    const b = p.weights[1];
    for (let i = 0; i < C; i++) b[i] += v[i];
    return true;
  }
  if (p.type === 'conv2dTranspose' && (p.options.groups ?? 1) !== 1) return false;
  const k = p.weights[0];
  if (p.type === 'conv2dTranspose') {
    // [KH, KW, Cout, Cin]: output channel on axis 2.
    const Cin = k.length / (C * ((p.options.kernelSize as number[])[0] * (p.options.kernelSize as number[])[1]));
    for (let j = 0; j < k.length; j++) k[j] *= v[Math.floor(j / Cin) % C];
  } else {
    for (let j = 0; j < k.length; j++) k[j] *= v[j % C];
  }
  if (p.weights[1]) for (let i = 0; i < C; i++) p.weights[1][i] *= v[i];
  return true;
}

function padSpec(node: Node, opset: number, rank: number, scalars: Scalars): [[number, number], [number, number]] {
  const mode = attrString(node, 'mode', 'constant');
  const pads = opset >= 11 ? scalars(node, 1) : attrInts(node, 'pads') ?? null;
  const value = opset >= 11 ? scalars(node, 2)?.[0] ?? 0 : attrFloat(node, 'value', 0);
  if (node.inputs[3]) throw new ArgumentError(`${where(node)}: the axes input is not supported`);
  if (mode !== 'constant' || value !== 0) throw new ArgumentError(`${where(node)}: mode '${mode}' with value ${value}: only zero padding is supported`);
  if (!pads || rank !== 4 || pads.length !== 8) throw new ArgumentError(`${where(node)}: pads [${pads}] for rank ${rank}: only 2-D padding of rank-4 maps is supported`);
  if (pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0)) throw new ArgumentError(`${where(node)}: pads [${pads}] must pad H and W only, by ≥ 0`);
  return [[pads[2], pads[6]], [pads[3], pads[7]]];
}

function resizeSpec(node: Node, opset: number, xs: number[], ys: number[]): [LayerType, Record<string, unknown>] {
  const size = [ys[2] / xs[2], ys[3] / xs[3]];
  if (xs.length !== 4 || ys[0] !== xs[0] || ys[1] !== xs[1]) throw new ArgumentError(`${where(node)}: [${xs}] → [${ys}]: only H and W can be resized`);
  const mode = attrString(node, 'mode', 'nearest');
  const coord = node.opType === 'Resize' && opset >= 11 ? attrString(node, 'coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  if (!size.every((s) => Number.isInteger(s) && s >= 1)) {
    // Any other size: the resizing layer (nearest as PyTorch's asymmetric floor; bilinear).
    const nm = node.opType === 'Resize' && opset >= 11 ? attrString(node, 'nearest_mode', 'round_prefer_floor') : 'floor';
    const o = { height: ys[2], width: ys[3] };
    if (mode === 'nearest' && coord === 'asymmetric' && nm === 'floor') return ['resizing', { ...o, interpolation: 'nearest' }];
    if (mode !== 'nearest' && coord === 'align_corners') return ['resizing', { ...o, interpolation: 'bilinear', alignCorners: true }];
    if (mode !== 'nearest' && (coord === 'half_pixel' || coord === 'pytorch_half_pixel' && ys[2] > 1 && ys[3] > 1)) return ['resizing', { ...o, interpolation: 'bilinear' }];
    throw new ArgumentError(`${where(node)}: ${mode} resize [${xs}] → [${ys}] with coordinate_transformation_mode '${coord}' is not supported`);
  }
  if (mode === 'nearest') {
    const nm = node.opType === 'Resize' && opset >= 11 ? attrString(node, 'nearest_mode', 'round_prefer_floor') : 'floor';
    const half = coord === 'half_pixel' || coord === 'pytorch_half_pixel';
    // Integer factors: asymmetric+floor and half-pixel+rounding both pick floor(x / s).
    if (!(coord === 'asymmetric' && nm === 'floor' || half && nm.startsWith('round'))) {
      throw new ArgumentError(`${where(node)}: nearest with coordinate_transformation_mode '${coord}' and nearest_mode '${nm}' is not supported`);
    }
    return ['upSampling2d', { size, interpolation: 'nearest' }];
  }
  if (coord === 'align_corners') return ['upSampling2d', { size, interpolation: 'bilinear', alignCorners: true }];
  if (coord === 'half_pixel' || coord === 'pytorch_half_pixel') return ['upSampling2d', { size, interpolation: 'bilinear' }];
  throw new ArgumentError(`${where(node)}: linear with coordinate_transformation_mode '${coord}' is not supported (half_pixel, pytorch_half_pixel, align_corners are)`);
}
