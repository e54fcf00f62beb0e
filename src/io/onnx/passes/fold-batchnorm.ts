// Fold an inference BatchNormalization into the Conv or ConvTranspose that feeds it:
//   s = γ / √(var + ε) per output channel,  W' = W · s (along the output channel),  b' = (b − mean) · s + β.
// Conditions: the convolution's output is read by the BatchNormalization only (and is not a graph
// output), the weights, bias and the four BatchNormalization tensors are float32 initializers, and
// the BatchNormalization is in inference mode (no running-statistics outputs read, training_mode 0).
// Arithmetic in f64, rounded once to f32, in one pass over W: in place when the conv is the weights'
// only reader, else into a new array (the originals may be shared); a new initializer name either
// way, and initializers nothing reads any more are dropped. A BatchNormalization that cannot be folded stays.
import { attrFloat, attrInt, nameAllocator, pruneInitializers, readers, type Graph, type Node, type Tensor } from '../ir.js';

function floatInit(graph: Graph, name: string | undefined): Tensor | null {
  const t = name ? graph.initializers.get(name) : undefined;
  return t && t.dtype === 'float32' ? t : null;
}

/**
 * dst[at] = src[at] · scale[r] over consecutive runs r of `len` floats. Its own small function: V8
 * optimises it after a call or two, where the same loop inside foldBatchNorm's walk of the graph
 * ran mostly unoptimised (each on-stack optimisation fell back at the next node: 19 ns a float,
 * 42 ms of MobileNetV2's load).
 */
function scaleRuns(src: Float32Array, dst: Float32Array, scale: Float64Array, len: number): void {
  for (let r = 0, at = 0; r < scale.length; r++) {
    const s = scale[r];
    for (const end = at + len; at < end; at++) dst[at] = src[at] * s;
  }
}

/** Fold BatchNormalization nodes into preceding convolutions in place; returns how many were folded. */
export function foldBatchNorm(graph: Graph): number {
  const read = readers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const gone = new Set<Node>();
  const freshName = nameAllocator(graph);
  // Arrays two initializers share (folding may alias values): never scaled in place.
  const seen = new Set<unknown>(), shared = new Set<unknown>();
  for (const t of graph.initializers.values()) (seen.has(t.data) ? shared : seen).add(t.data);
  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.domain) continue;
    if (attrInt(bn, 'training_mode', 0) !== 0) continue;
    if (bn.outputs.slice(1).some((o) => o && (read.has(o) || outputs.has(o)))) continue;
    const x = bn.inputs[0];
    const conv = producer.get(x);
    if (!conv || conv.domain || (conv.opType !== 'Conv' && conv.opType !== 'ConvTranspose')) continue;
    if (outputs.has(x) || (read.get(x) ?? []).length !== 1 || conv.outputs.length !== 1) continue;
    const w = floatInit(graph, conv.inputs[1]);
    const b = conv.inputs[2] ? floatInit(graph, conv.inputs[2]) : null;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((n) => floatInit(graph, n));
    if (!w || (conv.inputs[2] && !b) || !gamma || !beta || !mean || !variance || w.dims.length < 3) continue;
    const group = attrInt(conv, 'group', 1);
    const transposed = conv.opType === 'ConvTranspose';
    const channels = transposed ? w.dims[1] * group : w.dims[0];
    if ([gamma, beta, mean, variance].some((t) => t.data.length !== channels) || (b && b.data.length !== channels)) continue;
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const scale = new Float64Array(channels);
    const gd = gamma.data, vd = variance.data;
    for (let c = 0; c < channels; c++) scale[c] = gd[c] / Math.sqrt(vd[c] + eps);

    // One pass over W; in place when nothing else reads the weights (they are then this fold's own).
    const wd = w.data as Float32Array;
    const wReaders = read.get(conv.inputs[1]) ?? [];
    const own = wReaders.length === 1 && !outputs.has(conv.inputs[1]) && !shared.has(wd);
    const folded = own ? wd : new Float32Array(wd.length);
    const inner = w.dims.slice(2).reduce((a, d) => a * d, 1);
    if (!transposed) {
      // W [M, C/g, kH, kW]: output channel m is the outermost axis.
      scaleRuns(wd, folded, scale, wd.length / channels);
    } else {
      // W [C, M/g, kH, kW]: input channel ci (group ci / (C/g)) and j give output channel g·(M/g) + j.
      const cin = w.dims[0], mg = w.dims[1], cg = cin / group;
      const runScale = new Float64Array(cin * mg);
      for (let ci = 0; ci < cin; ci++) for (let j = 0; j < mg; j++) runScale[ci * mg + j] = scale[Math.floor(ci / cg) * mg + j];
      scaleRuns(wd, folded, runScale, inner);
    }
    const bias = new Float32Array(channels);
    const bd = b ? b.data : null, md = mean.data, betad = beta.data;
    for (let c = 0; c < channels; c++) bias[c] = ((bd ? bd[c] : 0) - md[c]) * scale[c] + betad[c];

    const wName = freshName(`${conv.inputs[1]}_bn`);
    graph.initializers.set(wName, { name: wName, dims: w.dims.slice(), dtype: 'float32', data: folded });
    const bName = freshName(`${conv.inputs[2] || `${conv.name}_bias`}_bn`);
    graph.initializers.set(bName, { name: bName, dims: [channels], dtype: 'float32', data: bias });
    conv.inputs = [conv.inputs[0], wName, bName];
    conv.outputs = [bn.outputs[0]];
    producer.set(bn.outputs[0], conv);
    gone.add(bn);
  }
  graph.nodes = graph.nodes.filter((n) => !gone.has(n));
  pruneInitializers(graph);
  return gone.size;
}
