import { test } from 'uvu';
import * as assert from 'uvu/assert';
import simdBytes from '../build/extras-simd.wasm';
import scalarBytes from '../build/extras-scalar.wasm';
import { normalCdf, ulpError } from './reference/math.ts';

// assembly/math.ts, the one math library of the kernels, against float64 references over the whole
// float range: every 4093rd float32 bit pattern (≈1.05 M inputs: both signs, subnormals, ±0, ±∞,
// NaNs), through both the SIMD body (4 lanes) and the scalar tail, in the SIMD and scalar builds.
// The functions run in build/extras-<target>.wasm, compiled from the same math.ts as the kernels.
// Measured maxima (stated in math.ts too): exp 0.99 ulp, log 0.76 ulp, Φ 9.4 ulp (the erfc fit:
// relative error ~1e-7 of erfc; absolute error ≤ 3e-7 near Φ = ½). The bounds below allow that.
const MAX_ULP = { exp: 1, log: 1, normalCdf: 10 };
const STRIDE = 4093;
const CHUNK = 1 << 18;

interface Probe { memory: WebAssembly.Memory; heap_base(): number; [fn: string]: unknown }

async function load(bytes: Uint8Array<ArrayBuffer>): Promise<Probe> {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return instance.exports as unknown as Probe;
}

/** Largest ulp error of kernel `fn` against `ref` over the sampled bit patterns, and where. */
function worst(p: Probe, fn: string, ref: (x: number) => number): { ulp: number; at: number } {
  const base = (p.heap_base() + 15) & ~15;
  const need = base + 8 * CHUNK;
  if (p.memory.buffer.byteLength < need) p.memory.grow(Math.ceil((need - p.memory.buffer.byteLength) / 65536));
  const run = p[fn] as (x: number, y: number, n: number) => void;
  let ulp = 0, at = 0;
  for (let start = 0; start < 2 ** 32; start += STRIDE * CHUNK) {
    const bits = new Uint32Array(p.memory.buffer, base, CHUNK);
    let n = 0;
    for (; n < CHUNK && start + n * STRIDE < 2 ** 32; n++) bits[n] = start + n * STRIDE;
    run(base, base + 4 * CHUNK, n);
    const x = new Float32Array(p.memory.buffer, base, n), y = new Float32Array(p.memory.buffer, base + 4 * CHUNK, n);
    for (let i = 0; i < n; i++) {
      const u = ulpError(y[i], ref(x[i]));
      if (u > ulp) { ulp = u; at = x[i]; }
    }
  }
  return { ulp, at };
}

for (const [build, bytes] of [['simd', simdBytes], ['scalar', scalarBytes]] as const) {
  test(`math.ts (${build} build): exp, log and Φ within their stated ulp bounds over the float range`, async () => {
    const p = await load(bytes);
    for (const [name, fn, ref] of [
      ['exp', 'exp_f32', Math.exp], ['log', 'log_f32', Math.log], ['normalCdf', 'normal_cdf_f32', normalCdf],
    ] as const) {
      const w = worst(p, fn, ref);
      assert.ok(w.ulp <= MAX_ULP[name], `${name}: ${w.ulp.toFixed(2)} ulp at x = ${w.at} (bound ${MAX_ULP[name]})`);
    }
  });
}

test.run();
