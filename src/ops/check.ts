import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { Tensor, type DType } from '../tensor.js';

// Argument checks shared by every op. Each throws a typed error naming the op and the argument.

/** x must be a live Tensor of the given rank(s) and dtype. */
export function expectTensor(op: string, name: string, x: unknown, rank?: number | readonly number[], dtype: DType = 'float32'): Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError(`${op}: ${name} must be a Tensor, got ${describe(x)}`);
  x.check(op, name);
  if (x.dtype !== dtype) throw new DTypeError(`${op}: ${name} must be ${dtype}, got ${x.dtype} ${fmtShape(x.shape)}`);
  if (rank !== undefined) {
    const ranks = typeof rank === 'number' ? [rank] : rank;
    if (!ranks.includes(x.rank)) {
      throw new ShapeError(`${op}: ${name} must have rank ${ranks.join(' or ')}, got ${fmtShape(x.shape)} (rank ${x.rank})`);
    }
  }
  return x;
}

/** Options must be a plain object (or omitted); unknown keys are an error, to catch typos. */
export function expectOptions<T extends object>(op: string, options: T | undefined, known: readonly string[]): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(`${op}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ArgumentError(`${op}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
  return options;
}

/** A finite number (optionally within [lo, hi]). */
export function expectNumber(op: string, name: string, v: unknown, fallback: number, lo = -Infinity, hi = Infinity): number {
  const n = v === undefined ? fallback : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < lo || n > hi) {
    const range = lo === -Infinity && hi === Infinity ? 'a finite number' : `a number in [${lo}, ${hi}]`;
    throw new ArgumentError(`${op}: ${name} must be ${range}, got ${describe(v)}`);
  }
  return n;
}

/** A boolean option. */
export function expectBool(op: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ArgumentError(`${op}: ${name} must be true or false, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return v.toString();
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? `array ${JSON.stringify(v).slice(0, 60)}` : 'an object';
}
