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

/** Mulberry32: the seeded stream initialisers, shuffling and dropout masks draw from. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
