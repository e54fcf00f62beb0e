// The workerd (Cloudflare Workers runtime) worker. workerd forbids compiling wasm from bytes, so
// the kernel build comes in as a wasm module (config.capnp embeds dist/wasm/simd.wasm) and is
// handed to init({ module }).
//   GET  /health   → "ok" (the test polls it until workerd is up)
//   GET  /predict  → the smoke report (init, backend, conv2d, maxPool2d + indices, LeNet logits)
//   POST /predict  → body: N·784 float32 (little-endian) 28×28 images → { backend, logits, classes }
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
