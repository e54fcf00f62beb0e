// The workerd (Cloudflare Workers runtime) worker. workerd forbids compiling wasm from bytes, so
// the kernel build comes in as a wasm module (config.capnp embeds dist/wasm/simd.wasm) and is
// handed to init({ module }).
//   GET  /health   → "ok" (the test polls it until workerd is up)
//   GET  /predict  → the smoke report (init, backend, conv2d, maxPool2d + indices, LeNet logits)
//   POST /predict  → body: N·784 float32 (little-endian) 28×28 images → { backend, logits, classes }
//   GET  /threads → init({ threads }) here: { threads, warnings } (the single-thread fallback)
//   GET  /init-default → what plain init() (the bundle's embedded bytes) does here, for the log
import * as simdcnn from './simdcnn.js';
import { runSmoke, buildLenet, lenetPredict } from './smoke.js';
import simdModule from './simd.wasm';

let model = null;

async function lenet() {
  if (!model) {
    await simdcnn.init({ module: simdModule });
    model = buildLenet(simdcnn);
  }
  return model;
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === '/health') return new Response('ok');
      if (pathname === '/predict' && request.method === 'GET') {
        // The smoke suite re-initialises the runtime (which frees every tensor): drop the cached model.
        model?.dispose();
        model = null;
        const report = await runSmoke(simdcnn, { runtime: 'workerd', init: { module: simdModule } });
        report.moduleIsPrecompiled = simdModule instanceof WebAssembly.Module;
        return Response.json(report);
      }
      if (pathname === '/threads') {
        // init({ threads: 2 }) here: one thread, and the one console warning naming the cause.
        const warnings = [];
        const warn = console.warn;
        console.warn = (...a) => { warnings.push(a.join(' ')); };
        try {
          model?.dispose();
          model = null;
          await simdcnn.init({ module: simdModule, threads: 2 });
          await simdcnn.init({ module: simdModule, threads: 3 });
        } finally {
          console.warn = warn;
        }
        const y = simdcnn.conv2d(simdcnn.tensor(new Float32Array(2 * 16 * 16 * 8).fill(1), [2, 16, 16, 8]), simdcnn.tensor(new Float32Array(9 * 8 * 8).fill(0.5), [3, 3, 8, 8]));
        return Response.json({ threads: simdcnn.threads(), warnings, y0: y.toArray()[0], sab: typeof SharedArrayBuffer, worker: typeof Worker, node: globalThis.process?.versions?.node ?? null });
      }
      if (pathname === '/init-default') {
        try {
          return Response.json({ ok: true, backend: await simdcnn.init({ backend: 'simd' }) });
        } catch (e) {
          return Response.json({ ok: false, error: `${e?.name}: ${e?.message}` });
        }
      }
      if (pathname === '/predict' && request.method === 'POST') {
        const bytes = await request.arrayBuffer();
        if (bytes.byteLength === 0 || bytes.byteLength % (784 * 4) !== 0) {
          return Response.json({ error: `body must be N·784 float32 values, got ${bytes.byteLength} bytes` }, { status: 400 });
        }
        const m = await lenet();
        return Response.json(lenetPredict(simdcnn, m, new Float32Array(bytes)));
      }
      return new Response('not found', { status: 404 });
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
