// node-flags: --experimental-wasm-relaxed-simd
// packWinograd's packed bits against the reference order of f64 operations it had when the
// Winograd paths were validated (kept below): every element equal bit for bit, for both transforms,
// flipped or not, channel counts on and off multiples of 8, weights with zeros, −0 and wide ranges.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, shutdown, tensor, tidy, type Backend } from '../src/index.ts';
import { packWinograd } from '../src/ops/pack.ts';
import { rt } from '../src/runtime/wasm.ts';
import { rng } from './helpers.ts';

const G = {
  f23: [1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1],
  f43: [1 / 4, 0, 0, -1 / 6, -1 / 6, -1 / 6, -1 / 6, 1 / 6, -1 / 6, 1 / 24, 1 / 12, 1 / 6, 1 / 24, -1 / 12, 1 / 6, 0, 0, 1],
};

/** The reference: HWIO weights [3, 3, C, Cout] → α² planes of blocks [bias 8][C][8] (the first implementation, verbatim in its arithmetic). */
function reference(w: Float32Array, C: number, Cout: number, flip: boolean, variant: 'f23' | 'f43'): Float32Array {
  const Gv = G[variant], a = Gv.length / 3, P = a * a, blocks = Math.ceil(Cout / 8), blockFloats = 8 + C * 8;
  const planeFloats = blocks * blockFloats;
  const out = new Float32Array(P * planeFloats);
  const t = new Float64Array(a * 3 * Cout), u = new Float64Array(Cout);
  for (let c = 0; c < C; c++) {
    t.fill(0);
    for (let k = 0; k < 9; k++) {
      const row = ((flip ? 8 - k : k) * C + c) * Cout, ky = (k / 3) | 0, kx = k % 3;
      for (let i = 0; i < a; i++) {
        const gi = Gv[i * 3 + ky];
        if (gi === 0) continue;
        const to = (i * 3 + kx) * Cout;
        for (let o = 0; o < Cout; o++) t[to + o] += gi * w[row + o];
      }
    }
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < a; j++) {
        const g0 = Gv[j * 3], g1 = Gv[j * 3 + 1], g2 = Gv[j * 3 + 2], t0 = i * 3 * Cout, t1 = t0 + Cout, t2 = t1 + Cout;
        for (let o = 0; o < Cout; o++) u[o] = t[t0 + o] * g0 + t[t1 + o] * g1 + t[t2 + o] * g2;
        const at = (i * a + j) * planeFloats + 8 + c * 8;
        for (let o = 0; o < Cout; o++) out[at + (o >> 3) * blockFloats + (o & 7)] = u[o];
      }
    }
  }
  return out;
}

test('packWinograd: packed bits equal the reference for F(2×2) and F(4×4), flipped or not, on odd channel counts', async () => {
  await init();
  const r = rng(7);
  for (const [C, Cout] of [[1, 1], [3, 7], [5, 8], [4, 13], [9, 17], [2, 24]]) {
    const w = new Float32Array(9 * C * Cout);
    for (let i = 0; i < w.length; i++) {
      const u = r();
      w[i] = u < 0.1 ? 0 : u < 0.2 ? -0 : u < 0.3 ? (r() - 0.5) * 1e30 : u < 0.4 ? (r() - 0.5) * 1e-30 : (r() - 0.5) * 2;
    }
    for (const variant of ['f23', 'f43'] as const) {
      for (const flip of [false, true]) {
        tidy(() => {
          const wt = tensor(w, [3, 3, C, Cout]);
          // Dirty the heap first so the zeros the packer must write are checked too.
          const junk = tensor(new Float32Array(1 << 14).fill(NaN), [1 << 14]);
          junk.dispose();
          const ptr = packWinograd(wt, C, Cout, flip, variant);
          const want = reference(w, C, Cout, flip, variant);
          const got = new Uint32Array(rt().kernels.memory.buffer, ptr, want.length);
          const wantBits = new Uint32Array(want.buffer);
          for (let i = 0; i < want.length; i++) {
            if (got[i] !== wantBits[i]) assert.unreachable(`${variant} flip ${flip} C ${C} Cout ${Cout}: element ${i}: ${got[i].toString(16)} ≠ ${wantBits[i].toString(16)}`);
          }
        });
      }
    }
  }
});

test('packWinograd: every build, 1, 2 and 3 threads (output-channel blocks split), the same bits as the reference', async () => {
  const r = rng(11);
  // Large enough to split over threads, and on one thread into two calls of the kernel (C·⌈Cout/8⌉ > 4096), Cout off a multiple of 8; and a small one.
  const shapes = [[300, 130], [3, 5]];
  const ws = shapes.map(([C, Cout]) => Float32Array.from({ length: 9 * C * Cout }, () => (r() - 0.5) * 2));
  const wants = shapes.map(([C, Cout], s) => (['f23', 'f43'] as const).flatMap((v) => [false, true].map((flip) => reference(ws[s], C, Cout, flip, v))));
  for (const backend of ['relaxed-simd', 'simd', 'scalar'] as Backend[]) {
    for (const threads of [1, 2, 3]) {
      await init({ backend, threads });
      shapes.forEach(([C, Cout], s) => {
        let k = 0;
        for (const variant of ['f23', 'f43'] as const) {
          for (const flip of [false, true]) {
            const want = new Uint32Array(wants[s][k++].buffer);
            tidy(() => {
              const ptr = packWinograd(tensor(ws[s], [3, 3, C, Cout]), C, Cout, flip, variant);
              const got = new Uint32Array(rt().kernels.memory.buffer, ptr, want.length);
              for (let i = 0; i < want.length; i++) {
                if (got[i] !== want[i]) assert.unreachable(`${backend} ${threads} threads ${variant} flip ${flip} C ${C} Cout ${Cout}: element ${i}: ${got[i].toString(16)} ≠ ${want[i].toString(16)}`);
              }
            });
          }
        }
      });
      shutdown();
    }
  }
});

test.run();
