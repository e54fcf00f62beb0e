// Whole-model benchmark (issue 10): batch-1 224×224 inference of torchvision's ResNet-18, MobileNetV2,
// SqueezeNet 1.1, GoogLeNet and EfficientNet-B0 (random seeded weights, bench/models/, written by
// `/usr/bin/python3 tests/onnx/generate.py --bench`) in simdcnn (loadOnnx) vs onnxruntime-web (wasm,
// one thread) in one process, like-for-like: a Float32Array in (NHWC for simdcnn, NCHW for ORT, each
// library's own layout, converted once), the logits out as a Float32Array. Outputs are first checked
// against PyTorch's (max |error| / max |logit|, must be ≤ 1e-3). Then alternating blocks, gc() between
// blocks (run with node --expose-gc), medians of every run; cold = load + first inference.
// onnxruntime-node (native, one intra-op thread) is shown for scale. Writes bench/results/models.json.
// --threads N: simdcnn with init({ threads: N }), ORT-web with env.wasm.numThreads = N (its threaded
// wasm, Emscripten pthreads on worker_threads in Node) and ORT-node with N intra-op threads, the same
// models and checks; each library's CPU time / wall time over its timed runs is printed (above 1 only
// if it really ran on more than one thread). Writes bench/results/models-threads.json.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as sc from '../dist/index.js';
import * as ortWeb from 'onnxruntime-web';

const require = createRequire(import.meta.url);
const ortNode = (() => { try { return require('onnxruntime-node'); } catch { return null; } })();
const threadsAt = process.argv.indexOf('--threads');
const THREADS = threadsAt > 0 ? Number(process.argv[threadsAt + 1]) : 1;
if (!(Number.isInteger(THREADS) && THREADS >= 1)) throw new Error('--threads N: N must be a positive integer');
const positional = process.argv.slice(2).filter((a, i, all) => a !== '--threads' && all[i - 1] !== '--threads');
const NAMES = (positional[0] ? positional[0].split(',') : ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'googlenet', 'efficientnet_b0']);
const BLOCKS = Number(process.env.BLOCKS ?? 6), RUNS = Number(process.env.RUNS ?? 4);
const gc = globalThis.gc ?? (() => { throw new Error('run with node --expose-gc'); });

ortWeb.env.wasm.numThreads = THREADS;
ortWeb.env.wasm.proxy = false;
ortWeb.env.wasm.wasmPaths = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm')) + '/';
ortWeb.env.logLevel = 'error';
const backend = await sc.init(THREADS > 1 ? { threads: THREADS } : {});
if (sc.threads() !== THREADS) throw new Error(`simdcnn runs on ${sc.threads()} thread(s), not ${THREADS}`);

const floats = (p) => { const b = readFileSync(p); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const median = (a) => { const s = a.slice().sort((x, y) => x - y); return s[s.length >> 1]; };
function nhwc(a, C, H, W) {
  const out = new Float32Array(a.length);
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) out[(h * W + w) * C + c] = a[(c * H + h) * W + w];
  return out;
}
function maxError(got, want) {
  let e = 0, m = 0;
  for (let i = 0; i < want.length; i++) { e = Math.max(e, Math.abs(got[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
  return e / m;
}

const rows = [];
for (const name of NAMES) {
  const path = `bench/models/${name}.onnx`;
  if (!existsSync(path)) { console.log(`${name}: ${path} missing (run /usr/bin/python3 tests/onnx/generate.py --bench)`); continue; }
  const bytes = new Uint8Array(readFileSync(path));
  const xNCHW = floats(`bench/models/${name}.input.bin`), want = floats(`bench/models/${name}.output.bin`);
  const xNHWC = nhwc(xNCHW, 3, 224, 224);
  gc();
  // simdcnn: cold = loadOnnx + first predict.
  let t0 = performance.now();
  const m = await sc.loadOnnx(bytes);
  const runSc = () => sc.tidy(() => m.predict(sc.tensor(xNHWC, [1, 224, 224, 3])).toArray());
  const ySc = runSc();
  const coldSc = performance.now() - t0;
  // ORT-web.
  t0 = performance.now();
  const sw = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const runWeb = async () => (await sw.run({ [sw.inputNames[0]]: new ortWeb.Tensor('float32', xNCHW, [1, 3, 224, 224]) }))[sw.outputNames[0]].data;
  const yWeb = await runWeb();
  const coldWeb = performance.now() - t0;
  let sn = null, runNode = null, coldNode = NaN;
  if (ortNode) {
    t0 = performance.now();
    sn = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: THREADS, interOpNumThreads: 1 });
    runNode = async () => (await sn.run({ [sn.inputNames[0]]: new ortNode.Tensor('float32', xNCHW, [1, 3, 224, 224]) }))[sn.outputNames[0]].data;
    await runNode();
    coldNode = performance.now() - t0;
  }
  const errSc = maxError(ySc, want), errWeb = maxError(yWeb, want);
  if (!(errSc <= 1e-3)) throw new Error(`${name}: simdcnn differs from PyTorch: max error ${errSc.toExponential(2)} of the largest logit`);
  const times = { simdcnn: [], ortWeb: [], ortNode: [] };
  const cpu = { simdcnn: 0, ortWeb: 0, ortNode: 0 }, wall = { simdcnn: 0, ortWeb: 0, ortNode: 0 };
  for (let b = 0; b < BLOCKS; b++) {
    const order = b % 2 ? ['ortWeb', 'simdcnn', 'ortNode'] : ['simdcnn', 'ortWeb', 'ortNode'];
    for (const lib of order) {
      if (lib === 'ortNode' && !runNode) continue;
      // Garbage collected, then 50 ms idle and one untimed run: the previous block's library may
      // still have threads spinning for work (ORT's pools do; simdcnn's workers spin 1 ms) and V8
      // sweeps after a full collection on background threads — with 2 threads on 2 vCPUs either
      // steals a core from the block being timed (MobileNetV2 read 15.2 ms without the pause,
      // 9.1 ms alone).
      gc();
      await new Promise((r) => setTimeout(r, 50));
      if (lib === 'simdcnn') runSc();
      else if (lib === 'ortWeb') await runWeb();
      else await runNode();
      const c0 = process.cpuUsage(), w0 = performance.now();
      for (let r = 0; r < RUNS; r++) {
        const s = performance.now();
        if (lib === 'simdcnn') runSc();
        else if (lib === 'ortWeb') await runWeb();
        else await runNode();
        times[lib].push(performance.now() - s);
      }
      const c = process.cpuUsage(c0);
      cpu[lib] += (c.user + c.system) / 1e3;
      wall[lib] += performance.now() - w0;
    }
  }
  const row = {
    model: name, simdcnnMs: median(times.simdcnn), ortWebMs: median(times.ortWeb), ortNodeMs: runNode ? median(times.ortNode) : null,
    coldSimdcnnMs: coldSc, coldOrtWebMs: coldWeb, coldOrtNodeMs: coldNode, maxErrSimdcnn: errSc, maxErrOrtWeb: errWeb, runs: times.simdcnn.length, layers: m.layers.length,
    cpuPerWall: { simdcnn: cpu.simdcnn / wall.simdcnn, ortWeb: cpu.ortWeb / wall.ortWeb, ortNode: runNode ? cpu.ortNode / wall.ortNode : null },
  };
  row.speedup = row.ortWebMs / row.simdcnnMs;
  rows.push(row);
  console.log(`${name}: simdcnn ${row.simdcnnMs.toFixed(1)} ms, ORT-web ${row.ortWebMs.toFixed(1)} ms (×${row.speedup.toFixed(2)}), ORT-node ${row.ortNodeMs?.toFixed(1)} ms; cold ${coldSc.toFixed(0)} / ${coldWeb.toFixed(0)} ms; max err ${errSc.toExponential(1)} / ${errWeb.toExponential(1)}` +
    (THREADS > 1 ? `; CPU/wall ${row.cpuPerWall.simdcnn.toFixed(2)} / ${row.cpuPerWall.ortWeb.toFixed(2)} / ${row.cpuPerWall.ortNode?.toFixed(2)}` : ''));
  m.dispose();
  await sw.release?.();
  await sn?.release?.();
}
const geo = Math.exp(rows.reduce((s, r) => s + Math.log(r.speedup), 0) / rows.length);
const th = (n) => `${n} thread${n > 1 ? 's' : ''}`;
console.log(`\nsimdcnn ${backend} backend ${th(THREADS)}, onnxruntime-web ${ortWeb.env.versions.web} wasm ${th(THREADS)}, onnxruntime-node ${ortNode ? `1.30 ${th(THREADS)}` : 'not installed'}; ${BLOCKS} alternating blocks × ${RUNS} runs; medians`);
console.log('| model | simdcnn ms | ORT-web ms | speed-up | ORT-node ms | cold simdcnn / ORT-web ms | max err (simdcnn / ORT-web) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.model} | ${r.simdcnnMs.toFixed(1)} | ${r.ortWebMs.toFixed(1)} | ×${r.speedup.toFixed(2)} | ${r.ortNodeMs?.toFixed(1) ?? '—'} | ${r.coldSimdcnnMs.toFixed(0)} / ${r.coldOrtWebMs.toFixed(0)} | ${r.maxErrSimdcnn.toExponential(1)} / ${r.maxErrOrtWeb.toExponential(1)} |`);
}
console.log(`geomean speed-up vs ORT-web: ×${geo.toFixed(2)}`);
mkdirSync('bench/results', { recursive: true });
const file = THREADS > 1 ? 'bench/results/models-threads.json' : 'bench/results/models.json';
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), backend, ...(THREADS > 1 ? { threads: THREADS } : {}), blocks: BLOCKS, runsPerBlock: RUNS, geomean: geo, rows }, null, 1) + '\n');
process.exit(0);
