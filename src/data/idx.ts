import { ArgumentError, DTypeError, FormatError, ShapeError, fmtShape } from '../errors.js';

// The IDX format (LeCun's MNIST files): a 4-byte magic `0 0 type rank`, then `rank` big-endian u32
// dims, then the elements, row-major and big-endian. Unlike readers that trust the header, this
// one checks every field and the exact data length, so a gzipped, truncated or mislabelled file
// fails with a message that names it instead of yielding garbage.

/**
 * A dataset file or saved artifact that is not what it claims to be (bad header, wrong length, bad
 * labels, missing fields, not JSON). A kind of FormatError: `catch (e) { if (e instanceof
 * FormatError) … }` catches both.
 */
export class DataError extends FormatError {}

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX file: native-endian typed data with its dims, outermost first. */
export interface IdxData {
  dtype: IdxDType;
  shape: number[];
  data: IdxArray;
}

interface IdxType {
  code: number;
  dtype: IdxDType;
  size: number;
  array: new (n: number) => IdxArray;
  get(view: DataView, offset: number): number;
  set(view: DataView, offset: number, v: number): void;
  /** Integer range, for encodeIdx's checks (floats: none). */
  range?: [number, number];
}

const TYPES: readonly IdxType[] = [
  { code: 0x08, dtype: 'uint8', size: 1, array: Uint8Array, range: [0, 255],
    get: (v, o) => v.getUint8(o), set: (v, o, x) => v.setUint8(o, x) },
  { code: 0x09, dtype: 'int8', size: 1, array: Int8Array, range: [-128, 127],
    get: (v, o) => v.getInt8(o), set: (v, o, x) => v.setInt8(o, x) },
  { code: 0x0b, dtype: 'int16', size: 2, array: Int16Array, range: [-32768, 32767],
    get: (v, o) => v.getInt16(o), set: (v, o, x) => v.setInt16(o, x) },
  { code: 0x0c, dtype: 'int32', size: 4, array: Int32Array, range: [-2147483648, 2147483647],
    get: (v, o) => v.getInt32(o), set: (v, o, x) => v.setInt32(o, x) },
  { code: 0x0d, dtype: 'float32', size: 4, array: Float32Array,
    get: (v, o) => v.getFloat32(o), set: (v, o, x) => v.setFloat32(o, x) },
  { code: 0x0e, dtype: 'float64', size: 8, array: Float64Array,
    get: (v, o) => v.getFloat64(o), set: (v, o, x) => v.setFloat64(o, x) },
];

const MAX_RANK = 8;
const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
const knownTypes = TYPES.map((t) => `${hex(t.code)} ${t.dtype}`).join(', ');

/**
 * Parse an IDX file. `name` (e.g. 'train-images') starts every error message. The result owns its
 * data (a copy, converted from big-endian to native order); throws DataError on any header field
 * out of range and unless the data length is exactly product(dims)·elementSize.
 */
export function parseIdx(bytes: Uint8Array | ArrayBufferLike, name = 'idx'): IdxData {
  // A fresh view (not the caller's object: Node's Buffer#slice would share memory), by tag rather
  // than instanceof so arrays from another realm (a Worker, a vm context) work too.
  const u8 = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : isArrayBuffer(bytes) ? new Uint8Array(bytes)
    : null;
  if (!u8) throw new ArgumentError(`parseIdx: ${name}: bytes must be a Uint8Array or ArrayBuffer, got ${describe(bytes)}`);
  if (u8.length < 4) throw new DataError(`${name}: truncated IDX header: need at least 4 bytes, found ${u8.length}`);
  if (u8[0] !== 0 || u8[1] !== 0) {
    const gzip = u8[0] === 0x1f && u8[1] === 0x8b ? ' (this is gzip data: decompress the file first)' : '';
    throw new DataError(`${name}: not an IDX file: magic must start with 0x00 0x00, found ${hex(u8[0])} ${hex(u8[1])}${gzip}`);
  }
  const type = TYPES.find((t) => t.code === u8[2]);
  if (!type) throw new DataError(`${name}: unknown IDX type code ${hex(u8[2])} (expected one of ${knownTypes})`);
  const rank = u8[3];
  if (rank < 1 || rank > MAX_RANK) throw new DataError(`${name}: IDX header declares ${rank} dimensions, expected 1 to ${MAX_RANK}`);
  const headerBytes = 4 + 4 * rank;
  if (u8.length < headerBytes) {
    throw new DataError(`${name}: truncated IDX header: ${rank} dimensions need ${headerBytes} header bytes, found ${u8.length}`);
  }

  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i); // big-endian (DataView's default); u32 so never negative
    shape.push(d);
    count *= d;
  }
  const expected = count * type.size;
  const found = u8.length - headerBytes;
  if (found !== expected) {
    const what = found < expected ? 'truncated IDX data' : `IDX data has ${found - expected} trailing bytes`;
    throw new DataError(`${name}: ${what}: header says ${shape.join('×')} ${type.dtype} = ${expected} bytes, found ${found}`);
  }

  let data: IdxArray;
  if (type.size === 1) {
    // Single bytes have no byte order: one copy, no per-element work.
    data = type.dtype === 'uint8'
      ? u8.slice(headerBytes)
      : new Int8Array(u8.buffer, u8.byteOffset + headerBytes, count).slice();
  } else {
    data = new type.array(count);
    for (let i = 0, o = headerBytes; i < count; i++, o += type.size) data[i] = type.get(view, o);
  }
  return { dtype: type.dtype, shape, data };
}

/**
 * Encode `data` (row-major, `shape` outermost first) as IDX bytes of `dtype`, big-endian. `dtype`
 * may be omitted for a typed array of one of the IDX element types. Integer types reject values
 * that are not integers in range (no silent wrap-around); float32 rounds as Float32Array does.
 */
export function encodeIdx(data: ArrayLike<number>, shape: readonly number[], dtype?: IdxDType): Uint8Array {
  const op = 'encodeIdx';
  const type = dtype === undefined ? TYPES.find((t) => data instanceof t.array) : TYPES.find((t) => t.dtype === dtype);
  if (!type) {
    throw new DTypeError(dtype === undefined
      ? `${op}: dtype is required unless data is a ${TYPES.map((t) => t.array.name).join(' / ')}, got ${describe(data)}`
      : `${op}: dtype must be one of ${TYPES.map((t) => `'${t.dtype}'`).join(', ')}, got ${String(dtype)}`);
  }
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_RANK
    || shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) {
    throw new ShapeError(`${op}: shape must be 1 to ${MAX_RANK} integers in [0, 2^32), got ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (data == null || typeof data.length !== 'number' || data.length !== count) {
    throw new ShapeError(`${op}: shape ${fmtShape(shape)} holds ${count} elements but data has ${data?.length}`);
  }
  const headerBytes = 4 + 4 * shape.length;
  const out = new Uint8Array(headerBytes + count * type.size);
  const view = new DataView(out.buffer);
  out[2] = type.code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  for (let i = 0, o = headerBytes; i < count; i++, o += type.size) {
    const v = data[i];
    if (type.range && !(Number.isInteger(v) && v >= type.range[0] && v <= type.range[1])) {
      throw new DTypeError(`${op}: ${type.dtype} data must be integers in [${type.range[0]}, ${type.range[1]}], got ${v} at index ${i}`);
    }
    type.set(view, o, v);
  }
  return out;
}

function isArrayBuffer(v: unknown): v is ArrayBufferLike {
  const tag = Object.prototype.toString.call(v);
  return tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]';
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
