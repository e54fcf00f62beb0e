// Per-layer time of simdcnn's predict on the bench models (bench/models, see bench/models.mjs):
// wraps the graph's step runner, sums time per layer type (and per layer for the top few).
// node --expose-gc --experimental-wasm-relaxed-simd bench/layers.mjs [names] ; RUNS=n
import { readFileSync } from 'node:fs';
import * as sc from '../dist/index.js';

const NAMES = process.argv[2] ? process.argv[2].split(',') : ['efficientnet_b0', 'mobilenet_v2', 'squeezenet1_1'];
const RUNS = Number(process.env.RUNS ?? 10), TOP = Number(process.env.TOP ?? 12);
await sc.init();
const floats = (p) => { const b = readFileSync(p); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const median = (a) => { const s = a.slice().sort((x, y) => x - y); return s[s.length >> 1]; };
for (const name of NAMES) {
  const m = await sc.loadOnnx(new Uint8Array(readFileSync(`bench/models/${name}.onnx`)));
  const xs = floats(`bench/models/${name}.input.bin`);
  const x = new Float32Array(xs.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) x[i * 3 + c] = xs[c * 224 * 224 + i];
  const g = m.graph, fwd = g.forward.bind(g);
  let rec = null;
  g.forward = (a, tr, rnd, run) => fwd(a, tr, rnd, (step, ins, ctx) => {
    const t = performance.now();
    const y = run ? run(step, ins, ctx) : step.layer.forward(ins, ctx);
    if (rec) {
      const dt = performance.now() - t;
      const l = step.layer, cfg = l.getConfig?.() ?? {};
      const key = `${l.constructor.name}${cfg.kernelSize ? ' k' + cfg.kernelSize.join('x') : ''}${cfg.strides ? ' s' + cfg.strides.join('') : ''}${cfg.activation ? ' ' + JSON.stringify(cfg.activation) : ''}`;
      (rec.get(step) ?? rec.set(step, { key, shape: `${ins.map((i) => i.shape.slice(1).join('x')).join(',')}→${y.shape.slice(1).join('x')}`, t: [] }).get(step)).t.push(dt);
    }
    return y;
  });
  const runOnce = () => sc.tidy(() => m.predict(sc.tensor(x, [1, 224, 224, 3])).toArray());
  for (let i = 0; i < 3; i++) runOnce();
  rec = new Map();
  const totals = [];
  for (let r = 0; r < RUNS; r++) { globalThis.gc?.(); const t = performance.now(); runOnce(); totals.push(performance.now() - t); }
  const per = [...rec.values()].map((e) => ({ ...e, ms: median(e.t) }));
  const sumSteps = per.reduce((s, e) => s + e.ms, 0);
  const byType = new Map();
  for (const e of per) { const b = byType.get(e.key) ?? { n: 0, ms: 0 }; b.n++; b.ms += e.ms; byType.set(e.key, b); }
  console.log(`\n${name}: predict median ${median(totals).toFixed(1)} ms, steps ${sumSteps.toFixed(1)} ms (${per.length} steps)`);
  for (const [k, b] of [...byType].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${b.ms.toFixed(2).padStart(8)} ms ${String(b.n).padStart(3)}×  ${k}`);
  console.log('  top steps:');
  for (const e of per.sort((a, b) => b.ms - a.ms).slice(0, TOP)) console.log(`  ${e.ms.toFixed(2).padStart(8)} ms  ${e.key}  ${e.shape}`);
  m.dispose();
}
