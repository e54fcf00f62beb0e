// A small protobuf wire-format reader and writer (no schema, no code generation, no dependency:
// protobufjs/minimal alone measured 11 KiB gzipped before any code generated for onnx.proto, and
// protobufjs/light 25 KiB; this file plus the ONNX decode and encode measured 6.7 KiB gzipped).
// The reader treats its input as untrusted: every read is bounds-checked, every loop advances,
// nesting is bounded, integers beyond 2^53 are rejected, and every failure is a FormatError that
// names the file kind, the field path and the byte offset. Values are never allocated before the
// length that sizes them has been checked against the bytes that remain.
import { FormatError } from '../errors.js';

/** Wire types of the protobuf encoding. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** How deep messages may nest (ONNX needs 5: model → graph → node → attribute → tensor). */
export const MAX_DEPTH = 16;

const TWO32 = 4294967296;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Reads one buffer. `kind` ('onnx') starts every error message; `path` is maintained by
 * `message`/`nested` so errors point at the field being read (`graph.node[3].input[0]`).
 */
export class ProtoReader {
  readonly view: DataView;
  pos = 0;
  /** End of the message being read. */
  limit: number;
  path = '';
  private depth = 0;

  constructor(readonly bytes: Uint8Array, readonly kind: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.limit = bytes.length;
  }

  /** Throw a FormatError at `offset` (default: the current position). */
  fail(message: string, offset = this.pos, path = this.path): never {
    throw new FormatError(`${this.kind}: ${path || '(root)'}: ${message} at byte ${offset}`);
  }

  /**
   * Read the fields of the message that ends at `this.limit`, calling `field(no, wire)` for each.
   * The callback must consume the value (one of the typed reads, or `skip(wire)`).
   */
  fields(field: (no: number, wire: number) => void): void {
    while (this.pos < this.limit) {
      const start = this.pos;
      const key = this.uint32();
      const no = Math.floor(key / 8), wire = key & 7;
      if (no === 0) this.fail('field number 0', start);
      field(no, wire);
      // Each iteration consumed at least the key; a value may not run past its message.
      if (this.pos > this.limit) this.fail(`field ${no} runs past the end of its message (ends at byte ${this.limit})`, start);
    }
  }

  /** Read a length-delimited sub-message as `path`, with its own `fields` loop. */
  nested(wire: number, path: string, read: () => void): void {
    this.expectWire(wire, WIRE_BYTES, path);
    if (this.depth >= MAX_DEPTH) this.fail(`messages nested deeper than ${MAX_DEPTH}`, this.pos, path);
    const len = this.length(path);
    const outerLimit = this.limit, outerPath = this.path;
    this.limit = this.pos + len;
    this.path = path;
    this.depth++;
    try {
      read();
    } finally {
      this.depth--;
      this.path = outerPath;
    }
    this.pos = this.limit;
    this.limit = outerLimit;
  }

  expectWire(wire: number, expected: number, path = this.path): void {
    if (wire !== expected) this.fail(`wire type ${wire}, expected ${expected}`, this.pos, path);
  }

  /** A varint as (lo, hi) 32-bit halves; at most 10 bytes. */
  private varint64(): [number, number] {
    const b = this.bytes, start = this.pos;
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) this.fail('truncated varint', start);
      const byte = b[this.pos++];
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if (!(byte & 0x80)) return [lo >>> 0, hi >>> 0];
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** A non-negative varint below 2^32 (tags, lengths, enums, int32 fields that must be ≥ 0). */
  uint32(): number {
    const start = this.pos;
    const [lo, hi] = this.varint64();
    if (hi !== 0) this.fail('varint does not fit 32 bits', start);
    return lo;
  }

  /** An int64 (two's complement) as a number; |value| must be ≤ 2^53 − 1. */
  int64(path = this.path): number {
    const start = this.pos;
    const [lo, hi] = this.varint64();
    if (hi & 0x80000000) {
      const nhi = ~hi >>> 0, nlo = ~lo >>> 0;
      if (nhi > 0x1fffff) this.fail('int64 below -(2^53 - 1)', start, path);
      return -(nhi * TWO32 + nlo + 1);
    }
    if (hi > 0x1fffff) this.fail('int64 above 2^53 - 1', start, path);
    return hi * TWO32 + lo;
  }

  /** An int32 field (protobuf encodes negative int32 as 10-byte varints). */
  int32(path = this.path): number {
    const start = this.pos;
    const v = this.int64(path);
    if (v < -2147483648 || v > 2147483647) this.fail(`int32 out of range (${v})`, start, path);
    return v;
  }

  float32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length prefix, checked against the bytes left in the current message. */
  length(path = this.path): number {
    const start = this.pos;
    const len = this.uint32();
    if (len > this.limit - this.pos) {
      this.fail(`length ${len} exceeds the ${this.limit - this.pos} bytes left`, start, path);
    }
    return len;
  }

  /** Length-delimited bytes: a view into the input (no copy). */
  bytesField(wire: number, path = this.path): Uint8Array {
    this.expectWire(wire, WIRE_BYTES, path);
    const len = this.length(path);
    const v = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  string(wire: number, path = this.path): string {
    const start = this.pos;
    const b = this.bytesField(wire, path);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail('string is not valid UTF-8', start, path);
    }
  }

  /** A varint-typed scalar field holding an int64. */
  int64Field(wire: number, path = this.path): number {
    this.expectWire(wire, WIRE_VARINT, path);
    return this.int64(path);
  }

  float32Field(wire: number, path = this.path): number {
    this.expectWire(wire, WIRE_FIXED32, path);
    return this.float32();
  }

  /**
   * Append a repeated int64/int32 field's values to `out`, packed (wire 2) or not (wire 0).
   * `max` bounds the total count (a packed run of n values takes at least n bytes, so the
   * bytes left bound it anyway; `max` is the caller's semantic limit).
   */
  repeatedInt64(wire: number, out: number[], path: string, max: number, int32 = false): void {
    const one = (): void => {
      if (out.length >= max) this.fail(`more than ${max} values`, this.pos, path);
      out.push(int32 ? this.int32(path) : this.int64(path));
    };
    if (wire === WIRE_VARINT) return one();
    this.expectWire(wire, WIRE_BYTES, path);
    const len = this.length(path);
    const end = this.pos + len, outer = this.limit;
    this.limit = end;
    while (this.pos < end) one();
    this.limit = outer;
  }

  /**
   * A repeated float field, packed or not. Packed runs are returned as byte ranges (`[start, count]`)
   * so the caller can check the total against the tensor's dims before allocating; an unpacked value
   * is pushed to `loose`.
   */
  repeatedFixed32(wire: number, runs: Array<[number, number]>, loose: number[], path: string): void {
    if (wire === WIRE_FIXED32) {
      loose.push(this.float32());
      return;
    }
    this.expectWire(wire, WIRE_BYTES, path);
    const start = this.pos;
    const len = this.length(path);
    if (len % 4) this.fail(`packed fixed32 run of ${len} bytes is not a multiple of 4`, start, path);
    runs.push([this.pos, len / 4]);
    this.pos += len;
  }

  /** As repeatedFixed32, for fixed64 (doubles). */
  repeatedFixed64(wire: number, runs: Array<[number, number]>, loose: number[], path: string): void {
    if (wire === WIRE_FIXED64) {
      loose.push(this.float64());
      return;
    }
    this.expectWire(wire, WIRE_BYTES, path);
    const start = this.pos;
    const len = this.length(path);
    if (len % 8) this.fail(`packed fixed64 run of ${len} bytes is not a multiple of 8`, start, path);
    runs.push([this.pos, len / 8]);
    this.pos += len;
  }

  /** Skip a field of an unknown number. Groups (wire 3/4, deprecated) are rejected. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint64(); return;
      case WIRE_FIXED64: this.need(8); this.pos += 8; return;
      case WIRE_FIXED32: this.need(4); this.pos += 4; return;
      case WIRE_BYTES: { const len = this.length(); this.pos += len; return; }
      default: this.fail(`unsupported wire type ${wire}`);
    }
  }

  private need(n: number): void {
    if (this.limit - this.pos < n) this.fail(`truncated: need ${n} bytes, ${this.limit - this.pos} left`);
  }
}

/** Builds a message. Nested messages are written into a child writer and appended with their length. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private rawVarint(lo: number, hi: number): void {
    this.reserve(10);
    while (hi !== 0 || lo > 0x7f) {
      this.buf[this.length++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.length++] = lo;
  }

  /** A varint of an integer in ±(2^53 − 1) (negative: 10-byte two's complement, as int64). */
  private varintNumber(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf: ${v} is not a safe integer`);
    if (v >= 0) return this.rawVarint(v >>> 0, Math.floor(v / TWO32) >>> 0);
    const m = -v;
    let lo = (~(m >>> 0) + 1) >>> 0;
    let hi = ~Math.floor(m / TWO32) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    this.rawVarint(lo, hi);
  }

  private key(no: number, wire: number): void {
    this.varintNumber(no * 8 + wire);
  }

  int64(no: number, v: number): this {
    this.key(no, WIRE_VARINT);
    this.varintNumber(v);
    return this;
  }

  float32(no: number, v: number): this {
    this.key(no, WIRE_FIXED32);
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
    return this;
  }

  bytes(no: number, b: Uint8Array): this {
    this.key(no, WIRE_BYTES);
    this.varintNumber(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  string(no: number, s: string): this {
    return this.bytes(no, utf8Encoder.encode(s));
  }

  message(no: number, write: (w: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    write(child);
    return this.bytes(no, child.finish());
  }

  /** A packed repeated int64 field (nothing written when empty). */
  packedInt64(no: number, values: ArrayLike<number>): this {
    if (!values.length) return this;
    const child = new ProtoWriter();
    for (let i = 0; i < values.length; i++) child.varintNumber(values[i]);
    return this.bytes(no, child.finish());
  }

  /** A packed repeated float field (nothing written when empty). */
  packedFloat32(no: number, values: ArrayLike<number>): this {
    if (!values.length) return this;
    const b = new Uint8Array(values.length * 4);
    const v = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) v.setFloat32(i * 4, values[i], true);
    return this.bytes(no, b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
