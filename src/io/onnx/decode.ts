// ModelProto bytes → the validated IR of ./ir.ts. Field numbers are onnx.proto's (ONNX 1.x; stable
// since IR version 3). The file is untrusted: tensors are described first (dims, dtype, where the
// data lies as byte ranges of the input) and only materialised once dims, element count and data
// length agree and the size is within MAX_TENSOR_BYTES. Malformed bytes → FormatError (field path
// and byte offset); valid ONNX we do not read (other dtypes, external data, subgraphs) → ArgumentError.
import { ArgumentError, FormatError } from '../../errors.js';
import { ProtoReader, WIRE_VARINT } from '../protobuf.js';
import type { Attribute, DType, Dim, Graph, Model, Node, OpsetImport, Tensor, ValueInfo } from './ir.js';

/** A tensor may not claim more bytes than this (2 GiB: ONNX's own protobuf limit). */
export const MAX_TENSOR_BYTES = 2 ** 31;
/** Rank limit for tensors and value shapes. */
export const MAX_RANK = 32;
/** Limit on repeated attribute values (ints/floats/strings) per attribute. */
const MAX_ATTRIBUTE_VALUES = 1 << 20;

const KIND = 'onnx';

/** ONNX TensorProto.DataType names, for messages. */
const DTYPE_NAMES = ['UNDEFINED', 'FLOAT', 'UINT8', 'INT8', 'UINT16', 'INT16', 'INT32', 'INT64', 'STRING', 'BOOL',
  'FLOAT16', 'DOUBLE', 'UINT32', 'UINT64', 'COMPLEX64', 'COMPLEX128', 'BFLOAT16'];
const DTYPES: Record<number, DType> = { 1: 'float32', 6: 'int32', 7: 'int64' };
const DTYPE_SIZE: Record<DType, number> = { float32: 4, int32: 4, int64: 8 };

function dtypeOf(code: number, what: string): DType {
  const t = DTYPES[code];
  if (t) return t;
  const name = DTYPE_NAMES[code] ?? `data type ${code}`;
  throw new ArgumentError(`onnx: ${what} has element type ${name}; simdcnn reads FLOAT, INT32 and INT64`);
}

/** A tensor as read, before validation: data located as byte ranges of the input. */
interface RawTensor {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  floatRuns: Array<[number, number]>;
  floatLoose: number[];
  /** int32_data / int64_data packed runs as [byte start, byte length], and unpacked values. */
  intRuns: Array<[number, number]>;
  intLoose: number[];
  intField: 0 | 5 | 7;
  external: boolean;
  otherData: string | null;
  offset: number;
  path: string;
}

/** Decode an ONNX model. Throws FormatError on malformed bytes, ArgumentError on unsupported features. */
export function decodeModel(bytes: Uint8Array | ArrayBuffer): Model {
  // By tag rather than instanceof, so bytes from another realm (a Worker, a vm context) work too.
  const tag = Object.prototype.toString.call(bytes);
  const u8 = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]' ? new Uint8Array(bytes as ArrayBuffer)
    : null;
  if (!u8) throw new ArgumentError(`decodeModel: bytes must be a Uint8Array or ArrayBuffer, got ${tag}`);
  const r = new ProtoReader(u8, KIND);
  let irVersion = 0, producerName = '', producerVersion = '';
  const opsetImports: OpsetImport[] = [];
  let graph: Graph | null = null;
  r.fields((no, wire) => {
    switch (no) {
      case 1: irVersion = r.int64Field(wire, 'ir_version'); break;
      case 2: producerName = r.string(wire, 'producer_name'); break;
      case 3: producerVersion = r.string(wire, 'producer_version'); break;
      case 7: {
        if (graph) r.fail('second graph', r.pos, 'graph');
        const g = r.pos;
        r.nested(wire, 'graph', () => { graph = readGraph(r, 'graph'); });
        if (!graph) r.fail('empty graph', g, 'graph');
        break;
      }
      case 8: {
        const path = `opset_import[${opsetImports.length}]`;
        const o: OpsetImport = { domain: '', version: 0 };
        r.nested(wire, path, () => r.fields((n, w) => {
          if (n === 1) o.domain = r.string(w, `${path}.domain`);
          else if (n === 2) o.version = r.int64Field(w, `${path}.version`);
          else r.skip(w);
        }));
        opsetImports.push(o);
        break;
      }
      default: r.skip(wire);
    }
  });
  if (!graph) throw new FormatError(`${KIND}: not an ONNX model: no graph (ModelProto field 7) in ${u8.length} bytes`);
  const main = opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!main) throw new FormatError(`${KIND}: opset_import: no opset for the default domain`);
  if (!(main.version >= 1 && main.version <= 1000)) throw new FormatError(`${KIND}: opset_import: default-domain opset ${main.version} out of range`);
  if (irVersion < 0) throw new FormatError(`${KIND}: ir_version ${irVersion} is negative`);
  const model: Model = { irVersion, opset: main.version, opsetImports, producerName, producerVersion, graph };
  validateGraph(model.graph);
  return model;
}

function readGraph(r: ProtoReader, path: string): Graph {
  const nodes: Node[] = [];
  const raws: RawTensor[] = [];
  const inputs: ValueInfo[] = [];
  const outputs: ValueInfo[] = [];
  let name = '';
  r.fields((no, wire) => {
    switch (no) {
      case 1: nodes.push(readNode(r, wire, `${path}.node[${nodes.length}]`, nodes.length)); break;
      case 2: name = r.string(wire, `${path}.name`); break;
      case 5: {
        const p = `${path}.initializer[${raws.length}]`;
        r.nested(wire, p, () => raws.push(readTensor(r, p)));
        break;
      }
      case 11: inputs.push(readValueInfo(r, wire, `${path}.input[${inputs.length}]`)); break;
      case 12: outputs.push(readValueInfo(r, wire, `${path}.output[${outputs.length}]`)); break;
      case 15: r.fail('sparse initializers are not supported', r.pos, `${path}.sparse_initializer`); break;
      default: r.skip(wire);
    }
  });
  const initializers = new Map<string, Tensor>();
  for (const raw of raws) {
    if (!raw.name) throw new FormatError(`${KIND}: ${raw.path}: initializer without a name at byte ${raw.offset}`);
    if (initializers.has(raw.name)) throw new FormatError(`${KIND}: ${raw.path}: initializer name '${raw.name}' used twice at byte ${raw.offset}`);
    initializers.set(raw.name, materialise(r, raw));
  }
  return { name, inputs: inputs.filter((i) => !initializers.has(i.name)), outputs, initializers, nodes };
}

function readNode(r: ProtoReader, wire: number, path: string, index: number): Node {
  const node: Node = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  let subgraph = '';
  const start = r.pos;
  r.nested(wire, path, () => r.fields((no, w) => {
    switch (no) {
      case 1: node.inputs.push(r.string(w, `${path}.input[${node.inputs.length}]`)); break;
      case 2: node.outputs.push(r.string(w, `${path}.output[${node.outputs.length}]`)); break;
      case 3: node.name = r.string(w, `${path}.name`); break;
      case 4: node.opType = r.string(w, `${path}.op_type`); break;
      case 7: node.domain = r.string(w, `${path}.domain`); break;
      case 5: {
        const p = `${path}.attribute[${node.attributes.size}]`;
        let attrName = '', value: Attribute | null = null;
        r.nested(w, p, () => {
          const read = readAttribute(r, p);
          attrName = read.name;
          value = read.value;
          if (read.subgraph) subgraph = read.name;
        });
        if (!attrName) r.fail('attribute without a name', r.pos, p);
        if (node.attributes.has(attrName)) r.fail(`attribute '${attrName}' given twice`, r.pos, p);
        if (value) node.attributes.set(attrName, value);
        break;
      }
      default: r.skip(w);
    }
  }));
  if (!node.opType) r.fail('node without op_type', start, path);
  if (!node.name) node.name = `${node.opType}_${index}`;
  if (subgraph) {
    throw new ArgumentError(`onnx: node '${node.name}' (${node.opType}) has a subgraph (attribute '${subgraph}'): control flow (If, Loop, Scan) is not supported`);
  }
  return node;
}

function readAttribute(r: ProtoReader, path: string): { name: string; value: Attribute | null; subgraph: boolean } {
  let name = '', type = 0, subgraph = false;
  let f: number | undefined, i: number | undefined, s: Uint8Array | undefined, t: Tensor | undefined;
  const floats: number[] = [], ints: number[] = [], strings: string[] = [];
  const floatRuns: Array<[number, number]> = [];
  const start = r.pos;
  r.fields((no, w) => {
    switch (no) {
      case 1: name = r.string(w, `${path}.name`); break;
      case 20: r.expectWire(w, WIRE_VARINT, `${path}.type`); type = r.uint32(); break;
      case 2: f = r.float32Field(w, `${path}.f`); break;
      case 3: i = r.int64Field(w, `${path}.i`); break;
      case 4: s = r.bytesField(w, `${path}.s`); break;
      case 5: r.nested(w, `${path}.t`, () => { t = materialise(r, readTensor(r, `${path}.t`)); }); break;
      case 6: case 11: subgraph = true; r.skip(w); break;
      case 7: r.repeatedFixed32(w, floatRuns, floats, `${path}.floats`); break;
      case 8: r.repeatedInt64(w, ints, `${path}.ints`, MAX_ATTRIBUTE_VALUES); break;
      case 9:
        if (strings.length >= MAX_ATTRIBUTE_VALUES) r.fail(`more than ${MAX_ATTRIBUTE_VALUES} strings`, r.pos, `${path}.strings`);
        strings.push(r.string(w, `${path}.strings[${strings.length}]`));
        break;
      default: r.skip(w);
    }
  });
  for (const [at, count] of floatRuns) {
    if (floats.length + count > MAX_ATTRIBUTE_VALUES) r.fail(`more than ${MAX_ATTRIBUTE_VALUES} floats`, at, `${path}.floats`);
    for (let k = 0; k < count; k++) floats.push(r.view.getFloat32(at + 4 * k, true));
  }
  if (subgraph) return { name, value: null, subgraph };
  // IR version ≥ 2 files always set `type`; infer it from the one field present otherwise.
  if (type === 0) {
    type = f !== undefined ? 1 : i !== undefined ? 2 : s !== undefined ? 3 : t !== undefined ? 4
      : floats.length ? 6 : ints.length ? 7 : strings.length ? 8 : 0;
  }
  const where = `attribute '${name}'`;
  const missing = (field: string): never => r.fail(`${where} of type ${type} has no '${field}' value`, start, path);
  switch (type) {
    case 1: return { name, subgraph, value: { type: 'float', value: f ?? missing('f') } };
    case 2: return { name, subgraph, value: { type: 'int', value: i ?? missing('i') } };
    case 3: {
      const bytes = s ?? missing('s');
      let value: string;
      try {
        value = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return r.fail(`${where}: string is not valid UTF-8`, start, path);
      }
      return { name, subgraph, value: { type: 'string', value } };
    }
    case 4: return { name, subgraph, value: { type: 'tensor', value: t ?? missing('t') } };
    case 6: return { name, subgraph, value: { type: 'floats', value: floats } };
    case 7: return { name, subgraph, value: { type: 'ints', value: ints } };
    case 8: return { name, subgraph, value: { type: 'strings', value: strings } };
    case 5: case 10: return { name, value: null, subgraph: true };
    default: {
      const names: Record<number, string> = { 9: 'TENSORS', 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS' };
      if (names[type]) throw new ArgumentError(`onnx: ${path}: ${where} has type ${names[type]}, which simdcnn does not read`);
      return r.fail(`${where} has unknown type ${type}`, start, path);
    }
  }
}

function readTensor(r: ProtoReader, path: string): RawTensor {
  const t: RawTensor = {
    name: '', dims: [], dataType: 0, floatRuns: [], floatLoose: [], intRuns: [], intLoose: [], intField: 0,
    external: false, otherData: null, offset: r.pos, path,
  };
  const intData = (w: number, field: 5 | 7, label: string): void => {
    if (t.intField && t.intField !== field) r.fail(`both int32_data and int64_data`, r.pos, `${path}.${label}`);
    t.intField = field;
    if (w === WIRE_VARINT) {
      t.intLoose.push(field === 5 ? r.int32(`${path}.${label}`) : r.int64(`${path}.${label}`));
      return;
    }
    const b = r.bytesField(w, `${path}.${label}`);
    t.intRuns.push([b.byteOffset - r.bytes.byteOffset, b.length]);
  };
  r.fields((no, w) => {
    switch (no) {
      case 1:
        r.repeatedInt64(w, t.dims, `${path}.dims`, MAX_RANK);
        break;
      case 2: r.expectWire(w, WIRE_VARINT, `${path}.data_type`); t.dataType = r.uint32(); break;
      case 3: r.fail('segmented tensors are not supported', r.pos, `${path}.segment`); break;
      case 4: r.repeatedFixed32(w, t.floatRuns, t.floatLoose, `${path}.float_data`); break;
      case 5: intData(w, 5, 'int32_data'); break;
      case 7: intData(w, 7, 'int64_data'); break;
      case 8: t.name = r.string(w, `${path}.name`); break;
      case 9: t.raw = r.bytesField(w, `${path}.raw_data`); break;
      case 13: t.external = true; r.skip(w); break;
      case 14: r.expectWire(w, WIRE_VARINT, `${path}.data_location`); if (r.uint32() === 1) t.external = true; break;
      case 6: t.otherData = 'string_data'; r.skip(w); break;
      case 10: t.otherData = 'double_data'; r.skip(w); break;
      case 11: t.otherData = 'uint64_data'; r.skip(w); break;
      default: r.skip(w);
    }
  });
  return t;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Validate a tensor's description against its data, then (only then) allocate and copy it. */
function materialise(r: ProtoReader, t: RawTensor): Tensor {
  const label = t.name ? `tensor '${t.name}'` : 'tensor';
  const bad = (message: string): never => {
    throw new FormatError(`${KIND}: ${t.path}: ${label}: ${message} at byte ${t.offset}`);
  };
  if (t.external) throw new ArgumentError(`onnx: ${t.path}: ${label} keeps its data in an external file; external data is not supported (save the model with its weights inside)`);
  const dtype = dtypeOf(t.dataType, `${t.path}: ${label}`);
  const size = DTYPE_SIZE[dtype];
  let count = 1;
  for (const d of t.dims) {
    if (d < 0) bad(`negative dim ${d} in dims [${t.dims.join(',')}]`);
    count *= d;
    if (count * size > MAX_TENSOR_BYTES) bad(`dims [${t.dims.join(',')}] claim more than ${MAX_TENSOR_BYTES} bytes`);
  }
  if (t.otherData) bad(`${t.otherData} given for a ${DTYPE_NAMES[t.dataType]} tensor`);
  const sources = [t.raw !== undefined, t.floatRuns.length + t.floatLoose.length > 0, t.intField !== 0].filter(Boolean).length;
  if (sources > 1) bad('data given in more than one field');
  if (t.floatRuns.length + t.floatLoose.length > 0 && dtype !== 'float32') bad(`float_data given for a ${DTYPE_NAMES[t.dataType]} tensor`);
  if (t.intField === 5 && dtype !== 'int32') bad(`int32_data given for a ${DTYPE_NAMES[t.dataType]} tensor`);
  if (t.intField === 7 && dtype !== 'int64') bad(`int64_data given for a ${DTYPE_NAMES[t.dataType]} tensor`);

  let found: number;
  if (t.raw !== undefined) {
    if (t.raw.length !== count * size) bad(`raw_data has ${t.raw.length} bytes, dims [${t.dims.join(',')}] of ${dtype} need ${count * size}`);
    found = count;
  } else if (t.intField) {
    found = t.intLoose.length;
    for (const [at, len] of t.intRuns) {
      // Each varint ends in exactly one byte below 0x80.
      for (let k = at; k < at + len; k++) if (r.bytes[k] < 0x80) found++;
      if (len && r.bytes[at + len - 1] >= 0x80) bad('packed integer data ends inside a varint');
    }
  } else {
    found = t.floatLoose.length;
    for (const [, n] of t.floatRuns) found += n;
  }
  if (found !== count && !(found === 0 && count === 0)) {
    if (found === 0) bad(`no data for dims [${t.dims.join(',')}] (${count} elements)`);
    bad(`has ${found} elements, dims [${t.dims.join(',')}] need ${count}`);
  }

  const dims = t.dims.slice();
  if (dtype === 'float32') {
    const data = new Float32Array(count);
    if (t.raw && LITTLE_ENDIAN) {
      // The bytes are the array (one copy, aligned or not).
      new Uint8Array(data.buffer).set(t.raw);
    } else if (t.raw) {
      const v = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
      for (let k = 0; k < count; k++) data[k] = v.getFloat32(4 * k, true);
    } else {
      let k = 0;
      for (const [at, n] of t.floatRuns) for (let j = 0; j < n; j++) data[k++] = r.view.getFloat32(at + 4 * j, true);
      for (const x of t.floatLoose) data[k++] = x;
    }
    return { name: t.name, dims, dtype, data };
  }
  let values: number[];
  if (t.raw) {
    values = new Array<number>(count);
    const v = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
    for (let k = 0; k < count; k++) {
      if (dtype === 'int32') values[k] = v.getInt32(4 * k, true);
      else {
        const lo = v.getUint32(8 * k, true), hi = v.getInt32(8 * k + 4, true);
        if (hi > 0x1fffff || hi < -0x200000 || (hi === -0x200000 && lo === 0)) bad(`int64 element ${k} beyond ±(2^53 − 1)`);
        values[k] = hi * 4294967296 + lo;
      }
    }
  } else {
    values = t.intLoose.slice();
    const outer = { pos: r.pos, limit: r.limit, path: r.path };
    for (const [at, len] of t.intRuns) {
      r.pos = at;
      r.limit = at + len;
      const path = `${t.path}.${t.intField === 5 ? 'int32_data' : 'int64_data'}`;
      while (r.pos < r.limit) values.push(dtype === 'int32' ? r.int32(path) : r.int64(path));
    }
    r.pos = outer.pos;
    r.limit = outer.limit;
  }
  return { name: t.name, dims, dtype, data: dtype === 'int32' ? Int32Array.from(values) : values };
}

function readValueInfo(r: ProtoReader, wire: number, path: string): ValueInfo {
  let name = '', elemType = 0, shape: Dim[] | null = null, notTensor = '';
  r.nested(wire, path, () => r.fields((no, w) => {
    if (no === 1) name = r.string(w, `${path}.name`);
    else if (no === 2) {
      r.nested(w, `${path}.type`, () => r.fields((tn, tw) => {
        if (tn === 1) {
          r.nested(tw, `${path}.type.tensor_type`, () => r.fields((n, ww) => {
            if (n === 1) { r.expectWire(ww, WIRE_VARINT, `${path}.type.tensor_type.elem_type`); elemType = r.uint32(); }
            else if (n === 2) shape = readShape(r, ww, `${path}.type.tensor_type.shape`);
            else r.skip(ww);
          }));
        } else if (tn === 4 || tn === 5 || tn === 8 || tn === 9) {
          notTensor = ({ 4: 'sequence', 5: 'map', 8: 'sparse tensor', 9: 'optional' } as Record<number, string>)[tn];
          r.skip(tw);
        } else r.skip(tw);
      }));
    } else r.skip(w);
  }));
  if (!name) r.fail('value without a name', r.pos, path);
  if (notTensor) throw new ArgumentError(`onnx: ${path}: '${name}' is a ${notTensor}; simdcnn reads tensors only`);
  const dtype = dtypeOf(elemType, `${path}: '${name}'`);
  return { name, dtype, shape };
}

function readShape(r: ProtoReader, wire: number, path: string): Dim[] {
  const dims: Dim[] = [];
  r.nested(wire, path, () => r.fields((no, w) => {
    if (no !== 1) return r.skip(w);
    const p = `${path}.dim[${dims.length}]`;
    if (dims.length >= MAX_RANK) r.fail(`more than ${MAX_RANK} dims`, r.pos, p);
    let dim: Dim = '';
    r.nested(w, p, () => r.fields((n, ww) => {
      if (n === 1) {
        const at = r.pos;
        const v = r.int64Field(ww, `${p}.dim_value`);
        if (v < 0) r.fail(`negative dim_value ${v}`, at, `${p}.dim_value`);
        dim = v;
      } else if (n === 2) dim = r.string(ww, `${p}.dim_param`);
      else r.skip(ww);
    }));
    dims.push(dim);
  }));
  return dims;
}

/**
 * Whole-graph checks: unique names, every input defined, graph outputs produced, and topological
 * order (nodes are re-sorted, stably, when the file lists them out of order; a cycle is an error).
 */
function validateGraph(graph: Graph): void {
  const bad = (message: string): never => { throw new FormatError(`${KIND}: graph: ${message}`); };
  const defined = new Set<string>(graph.initializers.keys());
  for (const i of graph.inputs) {
    if (!i.name) bad('graph input without a name');
    if (defined.has(i.name)) bad(`graph input '${i.name}' defined twice`);
    defined.add(i.name);
  }
  const producer = new Map<string, number>();
  const nodeNames = new Set<string>();
  graph.nodes.forEach((node, k) => {
    if (nodeNames.has(node.name)) {
      let j = 1;
      while (nodeNames.has(`${node.name}_${j}`)) j++;
      node.name = `${node.name}_${j}`;
    }
    nodeNames.add(node.name);
    for (const o of node.outputs) {
      if (!o) continue;
      if (defined.has(o) || producer.has(o)) bad(`value '${o}' (output of node '${node.name}') is defined twice`);
      producer.set(o, k);
    }
  });
  // Already sorted (the usual case)? Otherwise an iterative depth-first sort in file order: O(V + E).
  const deps: number[][] = graph.nodes.map((node, k) => {
    const list: number[] = [];
    for (const i of node.inputs) {
      if (!i || defined.has(i)) continue;
      const p = producer.get(i);
      if (p === undefined) bad(`node '${node.name}' (${node.opType}) reads '${i}', which no initializer, graph input or node defines`);
      if (p === k) bad(`node '${node.name}' (${node.opType}) reads its own output '${i}'`);
      list.push(p!);
    }
    return list;
  });
  if (deps.every((list, k) => list.every((p) => p < k))) return checkOutputs(graph, defined, producer, bad);
  const n = graph.nodes.length;
  const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 emitted
  const order: Node[] = [];
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    const stack: Array<[number, number]> = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [k, next] = top;
      if (next < deps[k].length) {
        top[1]++;
        const d = deps[k][next];
        if (state[d] === 1) bad(`the nodes form a cycle through node '${graph.nodes[d].name}' (${graph.nodes[d].opType})`);
        if (state[d] === 0) { state[d] = 1; stack.push([d, 0]); }
      } else {
        state[k] = 2;
        order.push(graph.nodes[k]);
        stack.pop();
      }
    }
  }
  graph.nodes = order;
  checkOutputs(graph, defined, producer, bad);
}

function checkOutputs(graph: Graph, defined: Set<string>, producer: Map<string, number>, bad: (m: string) => never): void {
  const outs = new Set<string>();
  for (const o of graph.outputs) {
    if (outs.has(o.name)) bad(`graph output '${o.name}' listed twice`);
    outs.add(o.name);
    if (!defined.has(o.name) && !producer.has(o.name)) bad(`graph output '${o.name}' is not produced by any node`);
  }
}
