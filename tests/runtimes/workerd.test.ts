// workerd (Cloudflare's Workers runtime, npm `workerd`): tests/runtimes/workerd/config.capnp embeds
// the worker, the smoke suite, dist/index.js and dist/wasm/simd.wasm as a wasm module (workerd
// refuses to compile wasm from bytes, so the worker passes the precompiled module to init). The
// test serves it on 127.0.0.1 at a free port, waits until it answers (bounded), calls it, and
// always stops it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, golden, assertReport, assertLenet, freePort, nativeBinary, stop, type LenetPrediction, type SmokeReport } from './helpers.js';

const START_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 20_000;

async function startWorkerd(workerd: string): Promise<{ child: ChildProcess; origin: string; log: () => string }> {
  let lastError = '';
  // The port is free when we ask, but another process could take it before workerd binds it: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const child = spawn(workerd, ['serve', 'tests/runtimes/workerd/config.capnp', '--socket-addr', `http=127.0.0.1:${port}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Belt and braces: should this process die before the finally below, take workerd with it.
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const t0 = Date.now();
    try {
      while (Date.now() - t0 < START_TIMEOUT_MS && child.exitCode === null && child.signalCode === null) {
        try {
          const r = await fetch(`${origin}/health`, { signal: AbortSignal.timeout(1000) });
          if (r.ok && (await r.text()) === 'ok') {
            console.log(`  workerd up on ${origin} after ${Date.now() - t0} ms`);
            return { child, origin, log: () => out };
          }
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (e) {
      await stop(child);
      throw e;
    }
    await stop(child);
    lastError = `workerd did not answer on ${origin} within ${START_TIMEOUT_MS} ms (exit ${child.exitCode ?? child.signalCode}):\n${out}`;
    if (!/address already in use|EADDRINUSE/i.test(out)) break;
  }
  throw new Error(lastError);
}

test('workerd: a worker with a precompiled WebAssembly.Module runs the smoke suite and predicts', async () => {
  const workerd = nativeBinary('workerd', ['@cloudflare/workerd-linux-64/bin/workerd', '@cloudflare/workerd-linux-arm64/bin/workerd']);
  if (!workerd) {
    console.log('  SKIPPED: workerd not installed (node_modules/.bin/workerd missing; .ci/run installs it: npm install --no-save workerd)');
    return;
  }
  const { smoke, report: gold } = await golden();
  const { child, origin, log } = await startWorkerd(workerd);
  try {
    // GET /predict: the whole smoke suite inside the worker.
    const res = await fetch(`${origin}/predict`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await res.text();
    assert.is(res.status, 200, `GET /predict: HTTP ${res.status}: ${body}\n${log()}`);
    const report = JSON.parse(body) as SmokeReport & { moduleIsPrecompiled?: boolean };
    assert.ok(report.moduleIsPrecompiled, 'the worker imports simd.wasm as a WebAssembly.Module');
    console.log(`  ${assertReport(report, gold, 'workerd', 'simd')}`);

    // POST /predict: the fixed images as raw float32 → a prediction from a model kept by the worker.
    const images = smoke.fixedInputs();
    const post = await fetch(`${origin}/predict`, { method: 'POST', body: new Uint8Array(images.buffer), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const pbody = await post.text();
    assert.is(post.status, 200, `POST /predict: HTTP ${post.status}: ${pbody}`);
    const prediction = JSON.parse(pbody) as LenetPrediction;
    console.log(`  POST /predict: ${assertLenet(prediction, gold.results.lenet!, 'workerd POST /predict')}`);

    // A malformed body is a 400 with a message, not a crash.
    const bad = await fetch(`${origin}/predict`, { method: 'POST', body: new Uint8Array(10), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    assert.is(bad.status, 400);
    assert.match(await bad.text(), /784 float32/);

    // Threads: no workers here, so init({ threads }) runs on one thread and warns once.
    const th = await fetch(`${origin}/threads`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const tr = (await th.json()) as { threads: number; warnings: string[]; y0: number; sab: string; worker: string; error?: string };
    assert.is(tr.error, undefined, String(tr.error));
    assert.is(tr.threads, 1);
    assert.is(tr.y0, 36);
    assert.is(tr.warnings.length, 1, JSON.stringify(tr.warnings));
    assert.match(tr.warnings[0], /one thread: this runtime cannot start workers/, tr.warnings[0]);
    console.log(`  workerd init({ threads: 2 }): threads() = 1 (SharedArrayBuffer: ${tr.sab}, Worker: ${tr.worker}), one warning: ${tr.warnings[0]}`);

    // For the log: plain init() compiles the embedded bytes, which workerd forbids.
    const plain = await fetch(`${origin}/init-default`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const p = (await plain.json()) as { ok: boolean; backend?: string; error?: string };
    console.log(`  plain init() (embedded bytes) in workerd: ${p.ok ? `works (${p.backend})` : p.error}`);
  } finally {
    await stop(child);
  }
  assert.ok(child.exitCode !== null || child.signalCode !== null, 'workerd stopped');
});

test.run();
