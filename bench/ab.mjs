// A/B of two simdcnn builds on the bench models in one process (bench/models.mjs's input and
// check): alternating blocks, gc() between them, medians and the ratio. For judging a change on a
// noisy machine: node --expose-gc --experimental-wasm-relaxed-simd bench/ab.mjs <dist A> <dist B> [names]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [distA, distB, names] = process.argv.slice(2);
const NAMES = names ? names.split(',') : ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'googlenet', 'efficientnet_b0'];
const BLOCKS = Number(process.env.BLOCKS ?? 6), RUNS = Number(process.env.RUNS ?? 3);
const libs = await Promise.all([distA, distB].map((d) => import(pathToFileURL(resolve(d, 'index.js')).href)));
for (const l of libs) await l.init();
const floats = (p) => { const b = readFileSync(p); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const median = (a) => { const s = a.slice().sort((x, y) => x - y); return s[s.length >> 1]; };
const gc = globalThis.gc ?? (() => {});
for (const name of NAMES) {
  const bytes = new Uint8Array(readFileSync(`bench/models/${name}.onnx`));
  const xs = floats(`bench/models/${name}.input.bin`), want = floats(`bench/models/${name}.output.bin`);
  const x = new Float32Array(xs.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) x[i * 3 + c] = xs[c * 224 * 224 + i];
  const runs = [];
  for (const sc of libs) {
    const m = await sc.loadOnnx(bytes);
    const run = () => sc.tidy(() => m.predict(sc.tensor(x, [1, 224, 224, 3])).toArray());
    const y = run();
    let e = 0, mx = 0;
    for (let i = 0; i < want.length; i++) { e = Math.max(e, Math.abs(y[i] - want[i])); mx = Math.max(mx, Math.abs(want[i])); }
    run(); run();
    runs.push({ run, err: e / mx, t: [] });
  }
  for (let b = 0; b < BLOCKS; b++) {
    for (const k of b % 2 ? [1, 0] : [0, 1]) {
      gc();
      for (let r = 0; r < RUNS; r++) { const s = performance.now(); runs[k].run(); runs[k].t.push(performance.now() - s); }
    }
  }
  const [a, bb] = runs.map((r) => median(r.t));
  console.log(`${name.padEnd(16)} A ${a.toFixed(1).padStart(6)} ms  B ${bb.toFixed(1).padStart(6)} ms  A/B ×${(a / bb).toFixed(2)}  err ${runs[0].err.toExponential(1)} / ${runs[1].err.toExponential(1)}`);
}
