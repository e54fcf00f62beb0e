import { ArgumentError } from '../../errors.js';
import { OP, array, fail, get, integer, kind, number, object, string, type Json } from './json.js';

// The weights manifest and its bytes: groups of { paths, weights: [{ name, shape, dtype,
// quantization? }] }, each group's weights stored back to back across its paths (a weight may
// straddle two shards), the groups in manifest order. float32 is read as is; the converter's
// affine quantisation (uint8 / uint16 with { scale, min } or { min, max }) and its float16 are
// dequantised here, in plain JS arrays: nothing touches wasm memory until every check has passed.

export interface WeightEntry {
  name: string;
  shape: number[];
  /** Where the manifest said it was (for messages). */
  path: string;
  values: Float32Array;
}

interface Spec { name: string; shape: number[]; size: number; bytes: number; path: string; decode: (src: Uint8Array) => Float32Array }

const MAX_WEIGHTS = 1_000_000;
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Bytes given as one ArrayBuffer (the shards concatenated), a view, or an array of them (one per path). */
function chunks(weights: unknown): Uint8Array[] | null {
  const one = (b: unknown): Uint8Array | null => {
    if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    // By tag rather than instanceof, so bytes from another realm (a Worker, a vm context) work too.
    const tag = Object.prototype.toString.call(b);
    return tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]' ? new Uint8Array(b as ArrayBuffer) : null;
  };
  if (Array.isArray(weights)) {
    const list = weights.map(one);
    return list.every((c) => c) ? (list as Uint8Array[]) : null;
  }
  const c = one(weights);
  return c ? [c] : null;
}

/** Read the manifest, check the bytes add up exactly, and decode every weight to float32. */
export function readWeights(manifest: Json | undefined, weights: unknown): WeightEntry[] {
  const parts = chunks(weights);
  if (!parts) throw new ArgumentError(`${OP}: weights must be an ArrayBuffer (the shards concatenated in manifest order) or an array of ArrayBuffers, one per path; got ${Array.isArray(weights) ? 'an array with a non-buffer entry' : Object.prototype.toString.call(weights)}`);
  const groups = array('weightsManifest', manifest, MAX_WEIGHTS);
  const specs: Spec[] = [];
  const groupBytes: number[] = [];
  const groupPaths: number[] = [];
  const seen = new Set<string>();
  groups.forEach((g, gi) => {
    const gp = `weightsManifest[${gi}]`;
    const group = object(gp, g);
    const paths = array(`${gp}.paths`, get(group, 'paths'), MAX_WEIGHTS);
    paths.forEach((p, i) => string(`${gp}.paths[${i}]`, p));
    groupPaths.push(paths.length);
    let bytes = 0;
    array(`${gp}.weights`, get(group, 'weights'), MAX_WEIGHTS).forEach((w, wi) => {
      const spec = readSpec(`${gp}.weights[${wi}]`, w);
      if (seen.has(spec.name)) fail(`${gp}.weights[${wi}].name`, `the weight '${spec.name}' is listed twice`);
      seen.add(spec.name);
      specs.push(spec);
      bytes += spec.bytes;
      if (specs.length > MAX_WEIGHTS) fail('weightsManifest', `more than ${MAX_WEIGHTS} weights`);
    });
    groupBytes.push(bytes);
  });
  const total = groupBytes.reduce((a, b) => a + b, 0);
  const given = parts.reduce((a, c) => a + c.byteLength, 0);
  if (parts.length > 1 || Array.isArray(weights)) {
    const want = groupPaths.reduce((a, b) => a + b, 0);
    if (parts.length !== want) throw new ArgumentError(`${OP}: weights is an array of ${parts.length} buffers but the manifest lists ${want} paths (one buffer per path, in manifest order)`);
    let k = 0;
    groupBytes.forEach((b, gi) => {
      const got = parts.slice(k, k + groupPaths[gi]).reduce((a, c) => a + c.byteLength, 0);
      k += groupPaths[gi];
      if (got !== b) fail(`weightsManifest[${gi}]`, `its weights need ${b} bytes but its ${groupPaths[gi]} shard(s) hold ${got}${got < b ? ' (truncated?)' : ''}`);
    });
  }
  if (given !== total) fail('weights', `the manifest's weights need ${total} bytes, got ${given}${given < total ? ' (truncated?)' : ''}`);
  const reader = new ChunkReader(parts);
  return specs.map((s) => ({ name: s.name, shape: s.shape, path: s.path, values: s.decode(reader.take(s.bytes)) }));
}

function readSpec(path: string, w: Json): Spec {
  const o = object(path, w);
  const name = string(`${path}.name`, get(o, 'name'));
  const shape = array(`${path}.shape`, get(o, 'shape'), 8).map((d, i) => integer(`${path}.shape[${i}]`, d, 0));
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_ELEMENTS) fail(`${path}.shape`, `[${shape.join(',')}] has ${size} elements (limit ${MAX_ELEMENTS})`);
  const dtype = string(`${path}.dtype`, get(o, 'dtype'));
  const q = get(o, 'quantization');
  if (q !== undefined && q !== null) {
    const qo = object(`${path}.quantization`, q);
    const qd = string(`${path}.quantization.dtype`, get(qo, 'dtype'));
    if (dtype !== 'float32') fail(`${path}.dtype`, `weight '${name}' is quantised from ${kind(dtype)}; simdcnn reads float32 weights only`);
    if (qd === 'float16') return { name, shape, size, path, bytes: 2 * size, decode: decodeFloat16 };
    if (qd !== 'uint8' && qd !== 'uint16') fail(`${path}.quantization.dtype`, `weight '${name}': quantisation ${kind(qd)} is not one of 'uint8', 'uint16', 'float16'`);
    const bits = qd === 'uint8' ? 8 : 16;
    const min = number(`${path}.quantization.min`, get(qo, 'min'));
    let scale: number;
    if (get(qo, 'scale') !== undefined) scale = number(`${path}.quantization.scale`, get(qo, 'scale'));
    else scale = (number(`${path}.quantization.max`, get(qo, 'max')) - min) / (2 ** bits - 1);
    return { name, shape, size, path, bytes: (bits / 8) * size, decode: (src) => dequantize(src, bits, scale, min) };
  }
  if (dtype !== 'float32') fail(`${path}.dtype`, `weight '${name}' has dtype ${kind(dtype)}; simdcnn reads float32 weights (or the converter's uint8/uint16/float16 quantisation)`);
  return { name, shape, size, path, bytes: 4 * size, decode: decodeFloat32 };
}

/** value = q·scale + min, computed in double and rounded once to float32 (as tfjs's decodeWeights). */
function dequantize(src: Uint8Array, bits: 8 | 16, scale: number, min: number): Float32Array {
  const n = src.length / (bits / 8);
  const out = new Float32Array(n);
  if (bits === 8) for (let i = 0; i < n; i++) out[i] = src[i] * scale + min;
  else for (let i = 0; i < n; i++) out[i] = (src[2 * i] | (src[2 * i + 1] << 8)) * scale + min;
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian float32 bytes → an array: one byte copy where the platform is little-endian (all bits kept). */
function decodeFloat32(src: Uint8Array): Float32Array {
  const out = new Float32Array(src.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(src);
    return out;
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function decodeFloat16(src: Uint8Array): Float32Array {
  const out = new Float32Array(src.length / 2);
  for (let i = 0; i < out.length; i++) {
    const h = src[2 * i] | (src[2 * i + 1] << 8);
    const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** Sequential reads over the concatenation of several buffers (copies only where a read straddles two). */
class ChunkReader {
  private index = 0;
  private offset = 0;
  constructor(private readonly parts: Uint8Array[]) {}
  take(n: number): Uint8Array {
    while (this.index < this.parts.length && this.offset === this.parts[this.index].length) { this.index++; this.offset = 0; }
    const cur = this.parts[this.index];
    if (n === 0) return new Uint8Array(0);
    if (cur && this.offset + n <= cur.length) {
      const out = cur.subarray(this.offset, this.offset + n);
      this.offset += n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.parts[this.index];
      const k = Math.min(n - filled, c.length - this.offset);
      out.set(c.subarray(this.offset, this.offset + k), filled);
      filled += k;
      this.offset += k;
      if (this.offset === c.length) { this.index++; this.offset = 0; }
    }
    return out;
  }
}
