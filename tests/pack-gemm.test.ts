// node-flags: --experimental-wasm-relaxed-simd
// packGemm (assembly/gemm/pack.ts) against the JavaScript loop it replaced (kept below as the
// reference): every packed element equal bit for bit — plain (conv2d HWIO, dense) and transposed
// (conv2dTranspose, a dense's Wᵀ) layouts, taps flipped or not, groups, with and without a bias,
// column counts on and off multiples of 8, row counts on and off multiples of 4 (the transposed
// SIMD gather), NaN, −0 and subnormal weights; every build, 1, 2 and 3 threads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, shutdown, tensor, tidy, type Backend } from '../src/index.ts';
import { packGemm, relayout } from '../src/ops/pack.ts';
import { rt } from '../src/runtime/wasm.ts';
import { rng } from './helpers.ts';

/** The JavaScript packer as it was (src/ops/pack.ts before the kernel), on plain arrays. */
function reference(w: Float32Array, bias: Float32Array | null, groups: number, T: number, K: number, Nc: number, flip: boolean, transposed: boolean): Float32Array {
  const blocks = Math.ceil(Nc / 8), blockFloats = 8 + T * K * 8;
  const out = new Float32Array(groups * blocks * blockFloats);
  const Cout = Nc * groups, Cin = K * groups;
  let dst = 0;
  for (let gi = 0; gi < groups; gi++) {
    let base: number, st: number, sk: number, sn: number;
    if (transposed) { base = gi * K; st = Nc * Cin; sk = 1; sn = Cin; }
    else { base = gi * Nc; st = K * Cout; sk = Cout; sn = 1; }
    for (let blk = 0; blk < blocks; blk++) {
      for (let j = 0; j < 8; j++) {
        const n = blk * 8 + j;
        out[dst + j] = n < Nc && bias ? bias[gi * Nc + n] : 0;
      }
      dst += 8;
      for (let t = 0; t < T; t++) {
        const tt = flip ? T - 1 - t : t;
        for (let k = 0; k < K; k++) {
          const row = base + tt * st + k * sk;
          for (let j = 0; j < 8; j++) {
            const n = blk * 8 + j;
            out[dst + j] = n < Nc ? w[row + n * sn] : 0;
          }
          dst += 8;
        }
      }
    }
  }
  return out;
}

/** Weights with zeros, −0, NaN, subnormals and wide ranges. */
function weights(r: () => number, n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    w[i] = u < 0.05 ? 0 : u < 0.1 ? -0 : u < 0.13 ? NaN : u < 0.2 ? (r() - 0.5) * 1e-40 : u < 0.3 ? (r() - 0.5) * 1e30 : (r() - 0.5) * 2;
  }
  return w;
}

// [groups, T, K, Nc]
const SHAPES = [[1, 1, 1, 1], [1, 9, 3, 8], [1, 25, 6, 16], [1, 1, 400, 120], [1, 1, 120, 400], [1, 1, 7, 13], [2, 9, 5, 3], [3, 4, 8, 17], [4, 1, 12, 8], [1, 16, 9, 24]];

function check(label: string, r: () => number): void {
  for (const [groups, T, K, Nc] of SHAPES) {
    for (const transposed of [false, true]) {
      for (const flip of [false, true]) {
        for (const withBias of [false, true]) {
          const w = weights(r, T * K * Nc * groups), b = withBias ? weights(r, Nc * groups) : null;
          // Plain: w [T, K, Nc·groups] (HWIO: [KH·KW, Cin/g, Cout]); transposed: [T, Nc, K·groups] ([KH·KW, Cout/g, Cin]).
          const shape = transposed ? [T, Nc, K * groups] : [T, K, Nc * groups];
          const want = new Uint32Array(reference(w, b, groups, T, K, Nc, flip, transposed).buffer);
          tidy(() => {
            // Dirty the heap first so the zeros the packer must write are checked too.
            tensor(new Float32Array(1 << 14).fill(NaN), [1 << 14]).dispose();
            const ptr = packGemm(tensor(w, shape), b ? tensor(b, [b.length]) : null, groups, T, K, Nc, flip, transposed);
            const got = new Uint32Array(rt().kernels.memory.buffer, ptr, want.length);
            for (let i = 0; i < want.length; i++) {
              if (got[i] !== want[i]) {
                assert.unreachable(`${label} groups ${groups} T ${T} K ${K} Nc ${Nc} transposed ${transposed} flip ${flip} bias ${withBias}: element ${i}: ${got[i].toString(16)} ≠ ${want[i].toString(16)}`);
              }
            }
          });
        }
      }
    }
  }
}

test('packGemm: packed bits equal the JavaScript reference, every layout, every build, 1, 2 and 3 threads', async () => {
  for (const backend of ['relaxed-simd', 'simd', 'scalar'] as Backend[]) {
    for (const threads of [1, 2, 3]) {
      await init({ backend, threads });
      check(`${backend} ${threads} threads`, rng(threads * 7 + backend.length));
      shutdown();
    }
  }
});

test('packGemm: a pack big enough to split over threads gives the same bits', async () => {
  const r = rng(5);
  const [groups, T, K, Nc] = [1, 9, 256, 1030];
  const w = weights(r, T * K * Nc), b = weights(r, Nc);
  const want = new Uint32Array(reference(w, b, groups, T, K, Nc, true, false).buffer);
  for (const threads of [1, 2, 3]) {
    await init({ threads });
    tidy(() => {
      const ptr = packGemm(tensor(w, [T, K, Nc]), tensor(b, [Nc]), groups, T, K, Nc, true, false);
      const got = new Uint32Array(rt().kernels.memory.buffer, ptr, want.length);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.unreachable(`${threads} threads: element ${i}`);
    });
    shutdown();
  }
});

test('relayout: [A, B, T] → [T, B, A] equals the JavaScript loop it replaced, NaN payloads kept, every build', async () => {
  // The importer's loop (src/io/onnx/map.ts, transposeTaps), on the bits.
  const reference = (w: Uint32Array, A: number, B: number, T: number): Uint32Array => {
    const k = new Uint32Array(w.length);
    for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) k[(t * B + b) * A + a] = w[(a * B + b) * T + t];
    return k;
  };
  const r = rng(9);
  for (const backend of ['relaxed-simd', 'simd', 'scalar'] as Backend[]) {
    await init({ backend });
    for (const [A, B, T] of [[1, 1, 1], [16, 3, 9], [17, 5, 9], [40, 1, 9], [33, 70, 1], [1000, 37, 1], [8, 8, 49], [0, 4, 9]]) {
      const bits = new Uint32Array(A * B * T).map(() => (r() * 2 ** 32) >>> 0);
      bits.forEach((_, i) => { if (i % 7 === 3) bits[i] = 0x7fa00001 + i; }); // NaNs with payloads
      const got = new Uint32Array(relayout(new Float32Array(bits.buffer), A, B, T).buffer);
      const want = reference(bits, A, B, T);
      assert.is(got.length, want.length);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.unreachable(`${backend} [${A}, ${B}, ${T}]: element ${i}: ${got[i].toString(16)} ≠ ${want[i].toString(16)}`);
    }
    shutdown();
  }
});

test.run();
