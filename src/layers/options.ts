import { ArgumentError } from '../errors.js';
import { parseActivation, type Activation } from '../ops/activation.js';
import { INITIALIZERS, type Initializer } from './initializers.js';

// Option checking for layer factories: every option is validated when the layer is created, unknown
// keys are rejected with the accepted ones listed (and a "did you mean" for near misses).

export type Pair = number | [number, number];

/** Options must be a plain object whose keys are all known; returns it typed. */
export function layerOptions<T extends object>(op: string, options: unknown, known: readonly string[], required: readonly string[] = []): T {
  if (options === undefined && !required.length) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(`${op}: options must be an object${required.length ? ` with ${required.join(', ')}` : ''}, got ${describe(options)}`);
  }
  const proto = Object.getPrototypeOf(options);
  if (proto !== Object.prototype && proto !== null) throw new ArgumentError(`${op}: options must be a plain object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = suggest(key, known);
      throw new ArgumentError(`${op}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; accepted: ${known.join(', ')}`);
    }
  }
  for (const key of required) {
    if ((options as Record<string, unknown>)[key] === undefined) throw new ArgumentError(`${op}: option '${key}' is required; accepted: ${known.join(', ')}`);
  }
  return options as T;
}

/** The known key closest to `key`: same letters ignoring case and '_', or edit distance ≤ 2. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, '');
  const exact = known.find((k) => norm(k) === norm(key));
  if (exact) return exact;
  let best: string | undefined, bestD = 3;
  for (const k of known) {
    const d = editDistance(norm(key), norm(k));
    if (d < bestD) { bestD = d; best = k; }
  }
  // Singular/plural and prefix slips: 'stride' → 'strides', 'dilation' → 'dilationRate'.
  return best ?? known.find((k) => norm(k).startsWith(norm(key)) && key.length >= 4);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

export function positiveInt(op: string, name: string, v: unknown, fallback?: number, max = 1 << 24): number {
  const n = v === undefined ? fallback : v;
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > max) {
    throw new ArgumentError(`${op}: ${name} must be an integer in [1, ${max}], got ${describe(v)}`);
  }
  return n as number;
}

export function nonNegativeInt(op: string, name: string, v: unknown, fallback = 0, max = 1 << 24): number {
  const n = v === undefined ? fallback : v;
  if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > max) throw new ArgumentError(`${op}: ${name} must be an integer in [0, ${max}], got ${describe(v)}`);
  return n as number;
}

/** A positive integer or a pair of them. */
export function intPair(op: string, name: string, v: unknown, fallback?: Pair, min = 1): [number, number] {
  const p = v === undefined ? fallback : v;
  const ok = (x: unknown) => Number.isInteger(x) && (x as number) >= min && (x as number) <= 1 << 24;
  if (ok(p)) return [p as number, p as number];
  if (Array.isArray(p) && p.length === 2 && ok(p[0]) && ok(p[1])) return [p[0], p[1]];
  throw new ArgumentError(`${op}: ${name} must be an integer ≥ ${min} or a pair of them, got ${describe(v)}`);
}

export function finiteNumber(op: string, name: string, v: unknown, fallback: number, lo = -Infinity, hi = Infinity): number {
  const n = v === undefined ? fallback : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < lo || n > hi) {
    throw new ArgumentError(`${op}: ${name} must be a finite number${lo > -Infinity || hi < Infinity ? ` in [${lo}, ${hi}]` : ''}, got ${describe(v)}`);
  }
  return n;
}

export function bool(op: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ArgumentError(`${op}: ${name} must be true or false, got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string>(op: string, name: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw new ArgumentError(`${op}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  return v as T;
}

export function initializer(op: string, name: string, v: unknown, fallback: Initializer): Initializer {
  return oneOf(op, name, v, INITIALIZERS, fallback);
}

/** An activation name or { name, alpha }, checked now (not at the first predict). */
export function activationOption(op: string, v: unknown): Activation | undefined {
  if (v === undefined || v === null || v === 'linear') return undefined;
  parseActivation(op, v as Activation);
  return v as Activation;
}

/** Padding: 'valid' | 'same' (| 'full' where allowed) | a non-negative integer | [[t, b], [l, r]]. */
export function paddingOption(op: string, v: unknown, modes: readonly string[] = ['valid', 'same']): unknown {
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    if (!modes.includes(v)) throw new ArgumentError(`${op}: padding must be ${modes.map((m) => `'${m}'`).join(', ')}, a non-negative integer or [[top, bottom], [left, right]], got ${describe(v)}`);
    return v;
  }
  const nn = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 1 << 20;
  if (nn(v)) return v;
  if (Array.isArray(v) && v.length === 2 && v.every((p) => Array.isArray(p) && p.length === 2 && nn(p[0]) && nn(p[1]))) return v;
  throw new ArgumentError(`${op}: padding must be ${modes.map((m) => `'${m}'`).join(', ')}, a non-negative integer or [[top, bottom], [left, right]], got ${describe(v)}`);
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `array ${JSON.stringify(v)?.slice(0, 60)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}
