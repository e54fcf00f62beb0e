import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';

// Weight initialisers, drawing from the model's seeded stream (Glorot and He, as Keras defines them).

export type Initializer = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'zeros' | 'ones';
export const INITIALIZERS: readonly Initializer[] = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'zeros', 'ones'];

/** Fill t from an initializer name or a finite constant. */
export function initializeTensor(t: Tensor, init: Initializer | number, fanIn: number, fanOut: number, random: () => number): void {
  const v = t.view();
  if (typeof init === 'number') { v.fill(init); return; }
  const normal = (): number => {
    // Box–Muller from the seeded uniform stream.
    const u = Math.max(random(), 1e-12), w = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  };
  const uniform = (a: number) => { for (let i = 0; i < v.length; i++) v[i] = (2 * random() - 1) * a; };
  const gaussian = (s: number) => { for (let i = 0; i < v.length; i++) v[i] = normal() * s; };
  switch (init) {
    case 'zeros': v.fill(0); return;
    case 'ones': v.fill(1); return;
    case 'glorotUniform': uniform(Math.sqrt(6 / (fanIn + fanOut))); return;
    case 'glorotNormal': gaussian(Math.sqrt(2 / (fanIn + fanOut))); return;
    case 'heUniform': uniform(Math.sqrt(6 / fanIn)); return;
    case 'heNormal': gaussian(Math.sqrt(2 / fanIn)); return;
  }
  throw new ArgumentError(`initializer must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(init)}`);
}

/**
 * How many numbers initializeTensor draws from the stream for `size` elements (uniform: one per
 * element, normal: two, constants: none).
 */
export function initializerDraws(init: Initializer | number, size: number): number {
  if (init === 'glorotUniform' || init === 'heUniform') return size;
  if (init === 'glorotNormal' || init === 'heNormal') return 2 * size;
  return 0;
}

/** A seeded stream that can also skip n draws in O(1) (the state is a counter). */
export interface SeededRandom {
  (): number;
  skip(n: number): void;
}

/** Advance a stream by n draws: in O(1) for a seeded stream, else by drawing. */
export function skipDraws(random: () => number, n: number): void {
  const skip = (random as Partial<SeededRandom>).skip;
  if (typeof skip === 'function') skip(n);
  else for (let i = 0; i < n; i++) random();
}

/** Mulberry32: the seeded stream initialisers, shuffling and dropout masks draw from. */
export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // n draws add n·0x6d2b79f5 to the counter (mod 2^32), in chunks below 2^31 for Math.imul.
  const skip = (n: number): void => {
    for (let left = n; left > 0; left -= 0x40000000) a = (a + Math.imul(Math.min(left, 0x40000000), 0x6d2b79f5)) >>> 0;
  };
  return Object.assign(next, { skip });
}
