// node-flags: --experimental-wasm-relaxed-simd
// plan()'s indirection (assembly/gemm/indirection.ts) against the JavaScript loop that built it
// before (kept below as the reference): every entry equal, for plain and transposed geometries with
// strides, dilations, asymmetric padding, taps outside the input, batches and 1×1 kernels, in
// every build.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, shutdown, type Backend } from '../src/index.ts';
import { plan } from '../src/ops/pack.ts';
import type { ConvGeometry } from '../src/ops/shape.ts';
import { rt } from '../src/runtime/wasm.ts';

/** The JavaScript builder as it was (src/ops/pack.ts before the kernel). */
function reference(g: ConvGeometry): Int32Array {
  const { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout, transposed } = g;
  const M = N * OH * OW, T = KH * KW;
  const i32 = new Int32Array(M * T + M);
  const out = M * T;
  const [pt, pl] = [pads[0][0], pads[1][0]];
  let m = 0;
  const emit = (n: number, oy: number, ox: number): void => {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        let iy: number, ix: number;
        if (transposed) {
          const ny = oy + pt - ky * d[0], nx = ox + pl - kx * d[1];
          iy = ny % s[0] === 0 ? ny / s[0] : -1;
          ix = nx % s[1] === 0 ? nx / s[1] : -1;
        } else {
          iy = oy * s[0] - pt + ky * d[0];
          ix = ox * s[1] - pl + kx * d[1];
        }
        const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
        i32[m * T + ky * KW + kx] = inside ? ((n * H + iy) * W + ix) * C * 4 : -1;
      }
    }
    i32[out + m] = ((n * OH + oy) * OW + ox) * Cout * 4;
    m++;
  };
  for (let n = 0; n < N; n++) {
    if (!transposed) {
      for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) emit(n, oy, ox);
    } else {
      for (let py = 0; py < s[0]; py++) for (let px = 0; px < s[1]; px++) {
        for (let oy = py; oy < OH; oy += s[0]) for (let ox = px; ox < OW; ox += s[1]) emit(n, oy, ox);
      }
    }
  }
  return i32;
}

/** A geometry as plan() reads it (the fields conv2dGeometry fills in). */
function geometry(N: number, H: number, W: number, C: number, Cout: number, KH: number, KW: number, s: [number, number], d: [number, number], pads: [[number, number], [number, number]], transposed: boolean): ConvGeometry {
  const ek = (k: number, dd: number) => (k - 1) * dd + 1;
  const OH = transposed ? (H - 1) * s[0] - pads[0][0] - pads[0][1] + ek(KH, d[0]) : Math.floor((H + pads[0][0] + pads[0][1] - ek(KH, d[0])) / s[0]) + 1;
  const OW = transposed ? (W - 1) * s[1] - pads[1][0] - pads[1][1] + ek(KW, d[1]) : Math.floor((W + pads[1][0] + pads[1][1] - ek(KW, d[1])) / s[1]) + 1;
  return { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout, transposed };
}

const CASES: ConvGeometry[] = [
  geometry(1, 7, 9, 3, 5, 3, 3, [1, 1], [1, 1], [[1, 1], [1, 1]], false),
  geometry(2, 11, 8, 4, 8, 5, 3, [2, 1], [1, 2], [[2, 1], [0, 3]], false),
  geometry(3, 6, 6, 1, 6, 1, 1, [1, 1], [1, 1], [[0, 0], [0, 0]], false),
  geometry(1, 9, 9, 16, 16, 3, 3, [2, 2], [2, 2], [[0, 2], [1, 1]], false),
  geometry(1, 4, 4, 8, 8, 7, 7, [1, 1], [1, 1], [[3, 3], [3, 3]], false), // taps far outside
  geometry(2, 5, 7, 6, 4, 4, 4, [2, 2], [1, 1], [[1, 1], [1, 1]], true),
  geometry(1, 6, 5, 3, 2, 3, 3, [3, 2], [1, 2], [[0, 2], [1, 0]], true),
  geometry(2, 3, 3, 5, 7, 2, 2, [1, 1], [1, 1], [[0, 0], [0, 0]], true),
];

test('plan: the wasm indirection equals the JavaScript reference, plain and transposed, every build', async () => {
  for (const backend of ['relaxed-simd', 'simd', 'scalar'] as Backend[]) {
    await init({ backend });
    for (const g of CASES) {
      assert.ok(g.OH > 0 && g.OW > 0, 'the test geometry has an output');
      const want = reference(g);
      const p = plan(g);
      const got = new Int32Array(rt().kernels.memory.buffer, p.ind, want.length);
      assert.is(p.out, p.ind + p.M * p.T * 4);
      for (let i = 0; i < want.length; i++) {
        if (got[i] !== want[i]) assert.unreachable(`${backend} ${JSON.stringify(g)}: entry ${i}: ${got[i]} ≠ ${want[i]}`);
      }
    }
    shutdown();
  }
});

test.run();
