// A Cloudflare Worker that classifies 28×28 handwritten digits with simdcnn's LeNet-5 (the demo's
// trained model). Workers forbid compiling WebAssembly from bytes, so the kernels come in as a
// precompiled module (simdcnn/wasm/simd.wasm, imported as a WebAssembly.Module) and go to
// init({ module }); the model comes in as a JSON module and a binary (Data) module.
//
//   GET  /          → the model's summary (text)
//   POST /predict   → body { "pixels": number[784] }: a 28×28 image, row-major, values in [0, 1]
//                     (white ink on black, as MNIST; 28 rows of 28 work too) →
//                     { "probabilities": number[10], "class": n }
//
// Every malformed request gets a 4xx with { "error": message } (the library's own message where the
// library found the fault); tensors are disposed on every path. GET /memory (live tensors and
// bytes) answers only where the DEBUG_MEMORY binding is "1" (the test's workerd config).
import { init, loadModel, tensor, softmax, tidy, memoryStats, SimdcnnError } from 'simdcnn';
import simdModule from 'simdcnn/wasm/simd.wasm';
import modelJson from '../../../demo/model/model.json';
import weights from '../../../demo/model/weights.bin';

/** Bodies larger than this are refused unread (784 numbers as JSON take about 16 KB). */
const MAX_BODY_BYTES = 64 * 1024;
const SIDE = 28;

let ready = null;
let model = null;

/** Once per isolate: the kernels, then the model (a failure is retried on the next request). */
function setup() {
  ready ??= (async () => {
    await init({ module: simdModule });
    model = loadModel({ topology: modelJson, weights });
  })().catch((e) => {
    ready = null;
    throw e;
  });
  return ready;
}

class RequestError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const json = (body, status = 200, headers = {}) => Response.json(body, { status, headers });

async function readJson(request) {
  const declared = Number(request.headers.get('content-length'));
  if (declared > MAX_BODY_BYTES) throw new RequestError(413, `predict: body of ${declared} bytes is larger than ${MAX_BODY_BYTES}`);
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) throw new RequestError(413, `predict: body of ${bytes.byteLength} bytes is larger than ${MAX_BODY_BYTES}`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new RequestError(400, `predict: body is not JSON (${e.message}); send { "pixels": [784 numbers in [0, 1]] }`);
  }
}

/** { pixels } → probabilities. The library checks the data (numbers, 784 of them); we check the range. */
function predict(body) {
  const pixels = body !== null && typeof body === 'object' ? body.pixels : undefined;
  return tidy(() => {
    // tensor() throws an ArgumentError for anything but numbers (naming the index) and a
    // ShapeError for a length other than 784; inside tidy, nothing outlives a failure.
    const x = tensor(pixels, [1, SIDE, SIDE, 1]);
    // The values the network will see (float32: 1e308 is Infinity there).
    const values = x.toArray();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= 1)) throw new RequestError(400, `predict: pixels must lie in [0, 1], got ${v} at index ${i}`);
    }
    const probabilities = Array.from(softmax(model.predict(x)).toArray());
    let best = 0;
    for (let k = 1; k < probabilities.length; k++) if (probabilities[k] > probabilities[best]) best = k;
    return { probabilities, class: best };
  });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    try {
      await setup();
      if (pathname === '/') {
        if (request.method !== 'GET') throw new RequestError(405, `${request.method} /: use GET`);
        return new Response(model.summary({ print: false }), { headers: { 'content-type': 'text/plain; charset=utf-8' } });
      }
      if (pathname === '/predict') {
        if (request.method !== 'POST') return json({ error: `${request.method} /predict: use POST with { "pixels": [784 numbers] }` }, 405, { allow: 'POST' });
        return json(predict(await readJson(request)));
      }
      if (pathname === '/memory' && env?.DEBUG_MEMORY === '1') return json(memoryStats());
      throw new RequestError(404, `${pathname}: not found (GET /, POST /predict)`);
    } catch (e) {
      if (e instanceof RequestError) return json({ error: e.message }, e.status);
      if (e instanceof SimdcnnError) return json({ error: `${e.name}: ${e.message}` }, 400);
      return json({ error: `internal error: ${e?.message ?? e}` }, 500);
    }
  },
};
