// Deno: the smoke suite (tests/runtimes/smoke.js) under `deno run` against the built dist/index.js,
// compared with the same suite run here in Node. Deno validates relaxed SIMD by default, so the
// default build must be 'relaxed-simd'; the LeNet is re-run under the forced 'simd' build too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, golden, assertReport, nativeBinary, run, type SmokeReport } from './helpers.js';

test('deno: smoke suite on dist/index.js matches Node', async () => {
  const deno = nativeBinary('deno', ['@deno/linux-x64-glibc/deno', '@deno/linux-arm64-glibc/deno']);
  if (!deno) {
    console.log('  SKIPPED: deno not installed (node_modules/.bin/deno missing; .ci/run installs it: npm install --no-save deno)');
    return;
  }
  const { report: gold } = await golden();
  // A private DENO_DIR: no writes to the user's cache, nothing left behind.
  const denoDir = mkdtempSync(join(tmpdir(), 'simdcnn-deno-'));
  try {
    const r = await run(deno, ['run', '--allow-read', '--no-prompt', 'tests/runtimes/deno-main.js'], {
      timeoutMs: 30_000,
      cwd: ROOT,
      env: { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    assert.not.ok(r.timedOut, `deno timed out; stderr:\n${r.stderr}`);
    assert.is(r.code, 0, `deno exited with ${r.code}; stderr:\n${r.stderr}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let report: SmokeReport;
    try { report = JSON.parse(line); } catch { throw new Error(`deno printed no JSON report:\n${r.stdout}\n${r.stderr}`); }
    console.log(`  ${report.runtime}: init ${report.initMs} ms, suite ${report.totalMs} ms, process ${r.ms} ms`);
    console.log(`  ${assertReport(report, gold, 'deno', 'relaxed-simd')}`);
  } finally {
    rmSync(denoDir, { recursive: true, force: true });
  }
});

test.run();
