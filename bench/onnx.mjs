// A tiny ONNX writer: enough protobuf to build a one-node model (Conv, ConvTranspose, MaxPool,
// AveragePool, …) in memory, with its weights as initializers, for onnxruntime-web to load as bytes.
// Only the fields such a model needs are written; the field numbers are those of onnx/onnx.proto3.
// No dependency: protobuf's wire format is varints and length-delimited fields.

const VARINT = 0, FIXED32 = 5, LEN = 2;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 }; // AttributeProto.AttributeType

const utf8 = new TextEncoder();

/** Bytes of one protobuf message, built field by field. */
class Message {
  constructor() { this.parts = []; this.length = 0; }

  push(bytes) { this.parts.push(bytes); this.length += bytes.length; return this; }

  varint(value) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`onnx: varint out of range: ${value}`);
    if (value < 0) return this.push(negativeVarint(value));
    const out = [];
    let v = value;
    while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
    out.push(v);
    return this.push(Uint8Array.from(out));
  }

  tag(field, wire) { return this.varint(field * 8 + wire); }

  int(field, value) { return this.tag(field, VARINT).varint(value); }

  float(field, value) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.tag(field, FIXED32).push(b);
  }

  bytes(field, value) { return this.tag(field, LEN).varint(value.length).push(value); }

  string(field, value) { return this.bytes(field, utf8.encode(value)); }

  message(field, msg) { return this.bytes(field, msg.finish()); }

  /** Repeated int64, packed (proto3's default encoding for repeated scalars). */
  packedInts(field, values) {
    const body = new Message();
    for (const v of values) body.varint(v);
    return this.bytes(field, body.finish());
  }

  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

/** Two's-complement 10-byte varint of a negative int64 (e.g. a -1 axis). */
function negativeVarint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return Uint8Array.from(out);
}

// TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian float32).
function tensorProto(name, dims, data) {
  const m = new Message().packedInts(1, dims).int(2, FLOAT).string(8, name);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return m.bytes(9, new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
}

// ValueInfoProto { name 1, type 2: TypeProto { tensor_type 1: { elem_type 1, shape 2: { dim 1: { dim_value 1 } } } } }
function valueInfo(name, dims) {
  const shape = new Message();
  for (const d of dims) shape.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

// AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20. The type follows the JS value:
// integer → INT, other number → FLOAT, string → STRING, array → INTS (all integers) or FLOATS.
function attribute(name, value) {
  const m = new Message().string(1, name);
  if (typeof value === 'string') return m.bytes(4, utf8.encode(value)).int(20, ATTR.STRING);
  if (Array.isArray(value)) {
    if (value.every(Number.isInteger)) return m.packedInts(8, value).int(20, ATTR.INTS);
    const body = new Message();
    for (const v of value) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, v, true);
      body.push(b);
    }
    return m.bytes(7, body.finish()).int(20, ATTR.FLOATS);
  }
  if (Number.isInteger(value)) return m.int(3, value).int(20, ATTR.INT);
  return m.float(2, value).int(20, ATTR.FLOAT);
}

/**
 * The bytes of an ONNX model with one node.
 * @param {object} spec
 * @param {string} spec.op              op_type, e.g. 'Conv'
 * @param {{name: string, dims: number[]}} spec.input   the one graph input (float32)
 * @param {{name: string, dims: number[]}} spec.output  the one graph output (float32)
 * @param {{name: string, dims: number[], data: Float32Array}[]} [spec.initializers]  constant inputs, in node-input order after the graph input
 * @param {Record<string, number | string | number[]>} [spec.attributes]
 * @param {number} [spec.opset]  default-domain opset version (default 17)
 * @returns {Uint8Array}
 */
export function oneNodeModel({ op, input, output, initializers = [], attributes = {}, opset = 17 }) {
  // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
  const node = new Message();
  node.string(1, input.name);
  for (const t of initializers) node.string(1, t.name);
  node.string(2, output.name).string(3, `${op.toLowerCase()}0`).string(4, op);
  for (const [k, v] of Object.entries(attributes)) node.message(5, attribute(k, v));

  // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
  const graph = new Message().message(1, node).string(2, `${op.toLowerCase()}_graph`);
  for (const t of initializers) graph.message(5, tensorProto(t.name, t.dims, t.data));
  graph.message(11, valueInfo(input.name, input.dims)).message(12, valueInfo(output.name, output.dims));

  // ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8 { domain 1, version 2 }.
  return new Message()
    .int(1, 8)
    .string(2, 'simdcnn-bench')
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, opset))
    .finish();
}
