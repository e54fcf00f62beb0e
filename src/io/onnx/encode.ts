// The IR of ./ir.ts → ModelProto bytes: the inverse of decode (decode(encode(m)) equals m for any m
// decode produced). Tensors are written as raw_data (little-endian), as PyTorch's exporter does.
import { ArgumentError } from '../../errors.js';
import { ProtoWriter } from '../protobuf.js';
import { DTYPE_CODE, type Attribute, type Graph, type Model, type Node, type Tensor, type ValueInfo } from './ir.js';

/** A new model around `graph`: IR version 8, the default domain at `opset` (13), producer "simdcnn". */
export function newModel(graph: Graph, opset = 13): Model {
  return { irVersion: 8, opset, opsetImports: [{ domain: '', version: opset }], producerName: 'simdcnn', producerVersion: '', graph };
}

/** Encode a model as ONNX ModelProto bytes. */
export function encodeModel(model: Model): Uint8Array {
  const w = new ProtoWriter();
  w.int64(1, model.irVersion);
  if (model.producerName) w.string(2, model.producerName);
  if (model.producerVersion) w.string(3, model.producerVersion);
  w.message(7, (g) => writeGraph(g, model.graph, model.irVersion));
  const imports = model.opsetImports.some((o) => o.domain === '' || o.domain === 'ai.onnx')
    ? model.opsetImports : [{ domain: '', version: model.opset }, ...model.opsetImports];
  for (const o of imports) {
    w.message(8, (m) => {
      if (o.domain) m.string(1, o.domain);
      m.int64(2, o.domain === '' || o.domain === 'ai.onnx' ? model.opset : o.version);
    });
  }
  return w.finish();
}

function writeGraph(w: ProtoWriter, graph: Graph, irVersion: number): void {
  for (const node of graph.nodes) w.message(1, (n) => writeNode(n, node));
  if (graph.name) w.string(2, graph.name);
  for (const t of graph.initializers.values()) w.message(5, (m) => writeTensor(m, t));
  for (const v of graph.inputs) w.message(11, (m) => writeValueInfo(m, v));
  // Before IR version 4, every initializer had to be listed as a graph input too.
  if (irVersion < 4) for (const t of graph.initializers.values()) w.message(11, (m) => writeValueInfo(m, { name: t.name, dtype: t.dtype, shape: t.dims.slice() }));
  for (const v of graph.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

function writeNode(w: ProtoWriter, node: Node): void {
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  if (node.name) w.string(3, node.name);
  w.string(4, node.opType);
  for (const [name, a] of node.attributes) w.message(5, (m) => writeAttribute(m, name, a));
  if (node.domain) w.string(7, node.domain);
}

const ATTRIBUTE_TYPE: Record<Attribute['type'], number> = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 };

function writeAttribute(w: ProtoWriter, name: string, a: Attribute): void {
  w.string(1, name);
  w.int64(20, ATTRIBUTE_TYPE[a.type]);
  switch (a.type) {
    case 'float': w.float32(2, a.value); break;
    case 'int': w.int64(3, a.value); break;
    case 'string': w.string(4, a.value); break;
    case 'tensor': w.message(5, (m) => writeTensor(m, a.value)); break;
    case 'floats': w.packedFloat32(7, a.value); break;
    case 'ints': w.packedInt64(8, a.value); break;
    case 'strings': for (const s of a.value) w.string(9, s); break;
  }
}

function writeTensor(w: ProtoWriter, t: Tensor): void {
  w.packedInt64(1, t.dims);
  w.int64(2, DTYPE_CODE[t.dtype]);
  if (t.name) w.string(8, t.name);
  const n = t.data.length;
  let expected = 1;
  for (const d of t.dims) expected *= d;
  if (expected !== n) throw new ArgumentError(`encodeModel: tensor '${t.name}' has ${n} elements, dims [${t.dims.join(',')}] need ${expected}`);
  const size = t.dtype === 'int64' ? 8 : 4;
  const raw = new Uint8Array(n * size);
  const v = new DataView(raw.buffer);
  for (let k = 0; k < n; k++) {
    const x = t.data[k];
    if (t.dtype === 'float32') v.setFloat32(4 * k, x, true);
    else if (t.dtype === 'int32') v.setInt32(4 * k, x, true);
    else {
      v.setUint32(8 * k, x >>> 0, true);
      v.setInt32(8 * k + 4, Math.floor(x / 4294967296), true);
    }
  }
  w.bytes(9, raw);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) => type.message(1, (tt) => {
    tt.int64(1, DTYPE_CODE[v.dtype]);
    if (v.shape) {
      tt.message(2, (shape) => {
        for (const d of v.shape!) shape.message(1, (dim) => (typeof d === 'number' ? dim.int64(1, d) : d ? dim.string(2, d) : dim));
      });
    }
  }));
}
