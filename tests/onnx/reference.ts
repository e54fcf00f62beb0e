// A tiny reference evaluator of the ONNX IR: plain loops in f64, NCHW, for the ops the generated
// models use (and the shape chains before folding). It checks the passes: a graph must compute the
// same outputs before and after each rewrite, and the unrewritten graph must match PyTorch.
import type { Graph, Model, Node, Tensor } from '../../src/io/onnx/ir.ts';
import { attrFloat, attrInt, attrInts, attrString, numElements } from '../../src/io/onnx/ir.ts';
import { constantValue, poolSize, resolvePads } from '../../src/io/onnx/passes/shapes.ts';

export interface Value { shape: number[]; data: Float64Array }

const val = (shape: number[], data?: ArrayLike<number>): Value => ({ shape, data: data ? Float64Array.from(data) : new Float64Array(numElements(shape)) });
const fromTensor = (t: Tensor): Value => val(t.dims.slice(), t.data as ArrayLike<number>);

function strides(shape: number[]): number[] {
  const s: number[] = [];
  let a = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = a; a *= shape[i]; }
  return s;
}

function broadcastBinary(a: Value, b: Value, f: (x: number, y: number) => number): Value {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...Array(rank - a.shape.length).fill(1), ...a.shape], pb = [...Array(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s)), sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const out = val(shape);
  const idx = Array(rank).fill(0);
  for (let e = 0; e < out.data.length; e++) {
    let oa = 0, ob = 0;
    for (let i = 0; i < rank; i++) { oa += idx[i] * sa[i]; ob += idx[i] * sb[i]; }
    out.data[e] = f(a.data[oa], b.data[ob]);
    for (let i = rank - 1; i >= 0; i--) { if (++idx[i] < shape[i]) break; idx[i] = 0; }
  }
  return out;
}

function unary(x: Value, f: (v: number) => number): Value {
  return val(x.shape.slice(), Array.from(x.data, f));
}

function conv(node: Node, x: Value, w: Value, b?: Value): Value {
  const [n, c, h, wd] = x.shape, [m, cg, kh, kw] = w.shape;
  const g = attrInt(node, 'group', 1);
  const s = attrInts(node, 'strides') ?? [1, 1], d = attrInts(node, 'dilations') ?? [1, 1];
  const p = resolvePads(node, [h, wd], [kh, kw], s, d);
  const oh = Math.floor((h + p[0] + p[2] - d[0] * (kh - 1) - 1) / s[0]) + 1, ow = Math.floor((wd + p[1] + p[3] - d[1] * (kw - 1) - 1) / s[1]) + 1;
  const out = val([n, m, oh, ow]);
  const mg = m / g;
  for (let b0 = 0; b0 < n; b0++) for (let o = 0; o < m; o++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let acc = b ? b.data[o] : 0;
    const grp = Math.floor(o / mg);
    for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const iy = y * s[0] - p[0] + i * d[0], ix = xx * s[1] - p[1] + j * d[1];
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      acc += x.data[((b0 * c + grp * cg + ci) * h + iy) * wd + ix] * w.data[((o * cg + ci) * kh + i) * kw + j];
    }
    out.data[((b0 * m + o) * oh + y) * ow + xx] = acc;
  }
  return out;
}

function convTranspose(node: Node, x: Value, w: Value, b?: Value): Value {
  const [n, c, h, wd] = x.shape, [, mg, kh, kw] = w.shape;
  const g = attrInt(node, 'group', 1), m = mg * g, cg = c / g;
  const s = attrInts(node, 'strides') ?? [1, 1], d = attrInts(node, 'dilations') ?? [1, 1];
  const p = attrInts(node, 'pads') ?? [0, 0, 0, 0], op = attrInts(node, 'output_padding') ?? [0, 0];
  const oh = s[0] * (h - 1) + op[0] + (kh - 1) * d[0] + 1 - p[0] - p[2], ow = s[1] * (wd - 1) + op[1] + (kw - 1) * d[1] + 1 - p[1] - p[3];
  const out = val([n, m, oh, ow]);
  for (let b0 = 0; b0 < n; b0++) for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < wd; xx++) {
    const v = x.data[((b0 * c + ci) * h + y) * wd + xx], grp = Math.floor(ci / cg);
    for (let j = 0; j < mg; j++) for (let i = 0; i < kh; i++) for (let k = 0; k < kw; k++) {
      const oy = y * s[0] - p[0] + i * d[0], ox = xx * s[1] - p[1] + k * d[1];
      if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
      out.data[((b0 * m + grp * mg + j) * oh + oy) * ow + ox] += v * w.data[((ci * mg + j) * kh + i) * kw + k];
    }
  }
  if (b) for (let e = 0; e < out.data.length; e++) out.data[e] += b.data[Math.floor(e / (oh * ow)) % m];
  return out;
}

function pool(node: Node, x: Value, kind: 'max' | 'avg'): Value {
  const [n, c, h, w] = x.shape;
  const k = attrInts(node, 'kernel_shape')!, s = attrInts(node, 'strides') ?? [1, 1], d = [1, 1];
  const p = resolvePads(node, [h, w], k, s, d), ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const include = attrInt(node, 'count_include_pad', 0) === 1;
  const oh = poolSize(h, k[0], s[0], 1, p[0], p[2], ceil), ow = poolSize(w, k[1], s[1], 1, p[1], p[3], ceil);
  const out = val([n, c, oh, ow]);
  for (let b = 0; b < n * c; b++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let acc = kind === 'max' ? -Infinity : 0, count = 0;
    const y0 = y * s[0] - p[0], x0 = xx * s[1] - p[1];
    for (let i = 0; i < k[0]; i++) for (let j = 0; j < k[1]; j++) {
      const iy = y0 + i, ix = x0 + j;
      // count_include_pad counts the padded area, not the ceil_mode overhang (PyTorch's rule).
      if (include && iy < h + p[2] && ix < w + p[3]) count++;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const v = x.data[(b * h + iy) * w + ix];
      if (kind === 'max') acc = Math.max(acc, v);
      else { acc += v; if (!include) count++; }
    }
    out.data[(b * oh + y) * ow + xx] = kind === 'max' ? acc : acc / count;
  }
  return out;
}

function resize(node: Node, x: Value, outShape: number[]): Value {
  const [n, c, h, w] = x.shape, [, , oh, ow] = outShape;
  const mode = attrString(node, 'mode', 'nearest'), ct = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const src = (o: number, inSize: number, outSize: number): number => {
    const scale = outSize / inSize;
    if (ct === 'align_corners') return outSize === 1 ? 0 : (o * (inSize - 1)) / (outSize - 1);
    if (ct === 'asymmetric') return o / scale;
    if (ct === 'pytorch_half_pixel') return outSize > 1 ? (o + 0.5) / scale - 0.5 : 0;
    return (o + 0.5) / scale - 0.5;
  };
  const out = val([n, c, oh, ow]);
  for (let b = 0; b < n * c; b++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    const sy = src(y, h, oh), sx = src(xx, w, ow);
    let v: number;
    if (mode === 'nearest') {
      v = x.data[(b * h + Math.min(h - 1, Math.floor(sy))) * w + Math.min(w - 1, Math.floor(sx))];
    } else {
      const cy = Math.min(Math.max(sy, 0), h - 1), cx = Math.min(Math.max(sx, 0), w - 1);
      const y0 = Math.floor(cy), x0 = Math.floor(cx), y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
      const fy = cy - y0, fx = cx - x0;
      const at = (yy: number, xq: number): number => x.data[(b * h + yy) * w + xq];
      v = (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy) + (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy;
    }
    out.data[(b * oh + y) * ow + xx] = v;
  }
  return out;
}

function axisOf(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

/** Evaluate `model` on named inputs; returns every graph output. */
export function evaluate(model: Model, inputs: Record<string, Value>): Record<string, Value> {
  const env = evaluateAll(model, inputs);
  return Object.fromEntries(model.graph.outputs.map((o) => [o.name, env.get(o.name)!]));
}

/** Evaluate `model`; returns every value (initializers, inputs, node outputs) by name. */
export function evaluateAll(model: Model, inputs: Record<string, Value>): Map<string, Value> {
  const g: Graph = model.graph;
  const env = new Map<string, Value>();
  for (const t of g.initializers.values()) env.set(t.name, fromTensor(t));
  for (const [k, v] of Object.entries(inputs)) env.set(k, v);
  const opset = model.opset;
  for (const node of g.nodes) {
    const inp = (k: number): Value => {
      const v = env.get(node.inputs[k]);
      if (!v) throw new Error(`reference: ${node.name}: input ${node.inputs[k]} missing`);
      return v;
    };
    const opt = (k: number): Value | undefined => (node.inputs[k] ? inp(k) : undefined);
    let out: Value;
    switch (node.opType) {
      case 'Constant': out = fromTensor(constantValue(node)); break;
      case 'Identity': case 'Dropout': out = inp(0); break;
      case 'Relu': out = unary(inp(0), (v) => Math.max(0, v)); break;
      case 'LeakyRelu': { const a = attrFloat(node, 'alpha', 0.01); out = unary(inp(0), (v) => (v >= 0 ? v : a * v)); break; }
      case 'Sigmoid': out = unary(inp(0), (v) => 1 / (1 + Math.exp(-v))); break;
      case 'Tanh': out = unary(inp(0), Math.tanh); break;
      case 'HardSigmoid': {
        const a = attrFloat(node, 'alpha', 0.2), b = attrFloat(node, 'beta', 0.5);
        out = unary(inp(0), (v) => Math.max(0, Math.min(1, a * v + b)));
        break;
      }
      case 'HardSwish': out = unary(inp(0), (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5))); break;
      case 'Clip': {
        const lo = opset >= 11 ? opt(1)?.data[0] ?? -Infinity : attrFloat(node, 'min', -Infinity);
        const hi = opset >= 11 ? opt(2)?.data[0] ?? Infinity : attrFloat(node, 'max', Infinity);
        out = unary(inp(0), (v) => Math.min(hi, Math.max(lo, v)));
        break;
      }
      case 'Add': out = broadcastBinary(inp(0), inp(1), (a, b) => a + b); break;
      case 'Sub': out = broadcastBinary(inp(0), inp(1), (a, b) => a - b); break;
      case 'Mul': out = broadcastBinary(inp(0), inp(1), (a, b) => a * b); break;
      case 'Div': out = broadcastBinary(inp(0), inp(1), (a, b) => a / b); break;
      case 'Conv': out = conv(node, inp(0), inp(1), opt(2)); break;
      case 'ConvTranspose': out = convTranspose(node, inp(0), inp(1), opt(2)); break;
      case 'MaxPool': out = pool(node, inp(0), 'max'); break;
      case 'AveragePool': out = pool(node, inp(0), 'avg'); break;
      case 'GlobalAveragePool': {
        const x = inp(0), [n, c] = x.shape, hw = x.data.length / (n * c);
        out = val([n, c, 1, 1]);
        for (let k = 0; k < n * c; k++) { let s = 0; for (let e = 0; e < hw; e++) s += x.data[k * hw + e]; out.data[k] = s / hw; }
        break;
      }
      case 'BatchNormalization': {
        const x = inp(0), [sc, bi, me, va] = [1, 2, 3, 4].map(inp), eps = attrFloat(node, 'epsilon', 1e-5);
        const [, c] = x.shape, hw = numElements(x.shape.slice(2));
        out = unary(x, (v) => v);
        for (let e = 0; e < out.data.length; e++) {
          const ch = Math.floor(e / hw) % c;
          out.data[e] = ((x.data[e] - me.data[ch]) / Math.sqrt(va.data[ch] + eps)) * sc.data[ch] + bi.data[ch];
        }
        break;
      }
      case 'Flatten': {
        const x = inp(0), a = axisOf(attrInt(node, 'axis', 1), x.shape.length + 1);
        out = val([numElements(x.shape.slice(0, a)), numElements(x.shape.slice(a))], x.data);
        break;
      }
      case 'Reshape': {
        const x = inp(0), t = Array.from(inp(1).data);
        const shape = t.map((d, i) => (d === 0 ? x.shape[i] : d));
        const k = shape.indexOf(-1);
        if (k >= 0) shape[k] = x.data.length / -numElements(shape);
        out = val(shape, x.data);
        break;
      }
      case 'Gemm': {
        const a = inp(0), b = inp(1), c = opt(2);
        const ta = attrInt(node, 'transA', 0), tb = attrInt(node, 'transB', 0);
        const alpha = attrFloat(node, 'alpha', 1), beta = attrFloat(node, 'beta', 1);
        const [m, k] = ta ? [a.shape[1], a.shape[0]] : a.shape, n = tb ? b.shape[0] : b.shape[1];
        out = val([m, n]);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += a.data[ta ? q * m + i : i * k + q] * b.data[tb ? j * k + q : q * n + j];
          out.data[i * n + j] = alpha * s;
        }
        if (c) out = broadcastBinary(out, c, (x, y) => x + beta * y);
        break;
      }
      case 'Softmax': {
        const x = inp(0), a = axisOf(attrInt(node, 'axis', opset >= 13 ? -1 : 1), x.shape.length);
        if (a !== x.shape.length - 1 && opset >= 13) throw new Error('reference: softmax on the last axis only');
        const inner = numElements(x.shape.slice(a));
        out = unary(x, (v) => v);
        for (let r = 0; r < x.data.length / inner; r++) {
          let mx = -Infinity, s = 0;
          for (let e = 0; e < inner; e++) mx = Math.max(mx, x.data[r * inner + e]);
          for (let e = 0; e < inner; e++) s += Math.exp(x.data[r * inner + e] - mx);
          for (let e = 0; e < inner; e++) out.data[r * inner + e] = Math.exp(x.data[r * inner + e] - mx) / s;
        }
        break;
      }
      case 'Concat': {
        const parts = node.inputs.filter(Boolean).map((_, k) => inp(k));
        const a = axisOf(attrInt(node, 'axis', 0), parts[0].shape.length);
        const shape = parts[0].shape.slice();
        shape[a] = parts.reduce((s, p) => s + p.shape[a], 0);
        out = val(shape);
        const outer = numElements(shape.slice(0, a));
        let e = 0;
        for (let o = 0; o < outer; o++) for (const p of parts) {
          const chunk = numElements(p.shape.slice(a));
          for (let q = 0; q < chunk; q++) out.data[e++] = p.data[o * chunk + q];
        }
        break;
      }
      case 'Shape': out = val([inp(0).shape.length], inp(0).shape); break;
      case 'Gather': {
        const x = inp(0), idx = inp(1);
        if (x.shape.length !== 1) throw new Error('reference: Gather on 1-D only');
        out = val(idx.shape.slice(), Array.from(idx.data, (i) => x.data[i < 0 ? i + x.data.length : i]));
        break;
      }
      case 'Unsqueeze': {
        const x = inp(0), axes = opset >= 13 ? Array.from(inp(1).data) : attrInts(node, 'axes')!;
        const shape = x.shape.slice();
        for (const a of axes.map((v) => axisOf(v, x.shape.length + axes.length)).sort((p, q) => p - q)) shape.splice(a, 0, 1);
        out = val(shape, x.data);
        break;
      }
      case 'Slice': {
        const x = inp(0);
        if (x.shape.length !== 1) throw new Error('reference: Slice on 1-D only');
        const n = x.data.length, norm = (v: number): number => Math.min(n, Math.max(0, v < 0 ? v + n : v));
        const s = norm(inp(1).data[0]), e = norm(inp(2).data[0]);
        out = val([Math.max(0, e - s)], x.data.slice(s, e));
        break;
      }
      case 'Resize': {
        const x = inp(0), sizes = opt(3), scales = opt(2);
        const shape = sizes && sizes.data.length ? Array.from(sizes.data) : x.shape.map((d, i) => Math.floor(d * scales!.data[i]));
        out = resize(node, x, shape);
        break;
      }
      default: throw new Error(`reference: op ${node.opType} not implemented`);
    }
    env.set(node.outputs[0], out);
  }
  return env;
}
