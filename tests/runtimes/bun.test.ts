// Bun (JavaScriptCore, Safari's engine; npm `bun`): the smoke suite (tests/runtimes/smoke.js) under
// `bun` against the built dist/index.js, compared with the same suite run here in Node, plus a
// LeNet-5 file round trip through writeArtifacts/readArtifacts (Bun's node:fs). JavaScriptCore
// validates the relaxed-SIMD module, so init picks 'relaxed-simd'; it lowers relaxed_madd to a
// multiply and an add (measured: the relaxed and simd builds give the same logits bit for bit),
// which the log line reports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, golden, assertReport, maxDiff, nativeBinary, run, type SmokeReport } from './helpers.js';

test('bun: smoke suite on dist/index.js matches Node; file save/load round trip', async () => {
  const bun = nativeBinary('bun', ['bun/bin/bun.exe']);
  if (!bun) {
    console.log('  SKIPPED: bun not installed (node_modules/bun/bin/bun.exe missing; .ci/run installs it: npm install --no-save bun)');
    return;
  }
  const { report: gold } = await golden();
  const scratch = mkdtempSync(join(tmpdir(), 'simdcnn-bun-'));
  try {
    const r = await run(bun, ['tests/runtimes/bun-main.js', join(scratch, 'lenet')], {
      timeoutMs: 30_000,
      cwd: ROOT,
      // No telemetry, no transpiler cache written outside the scratch directory.
      env: { ...process.env, DO_NOT_TRACK: '1', BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0', TMPDIR: scratch, NO_COLOR: '1' },
    });
    assert.not.ok(r.timedOut, `bun timed out; stderr:\n${r.stderr}`);
    assert.is(r.code, 0, `bun exited with ${r.code}; stderr:\n${r.stderr}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let report: SmokeReport & { fileRoundTrip?: { ok: boolean; weightsBytes?: number; error?: string } };
    try { report = JSON.parse(line); } catch { throw new Error(`bun printed no JSON report:\n${r.stdout}\n${r.stderr}`); }
    console.log(`  ${report.runtime}: init ${report.initMs} ms, suite ${report.totalMs} ms, process ${r.ms} ms`);
    console.log(`  ${assertReport(report, gold, 'bun', 'relaxed-simd')}`);
    const fused = maxDiff(report.results.lenet!.logits, report.lenetSimd!.logits);
    console.log(`  bun picks 'relaxed-simd'; relaxed_madd ${fused === 0 ? 'is not fused (relaxed and simd logits bit-identical)' : `fuses (relaxed vs simd logits differ by ${fused.toExponential(2)})`}`);
    assert.ok(report.fileRoundTrip?.ok, `bun: writeArtifacts → readArtifacts → loadModel predicts the same (${report.fileRoundTrip?.error ?? ''})`);
    assert.is(report.fileRoundTrip?.weightsBytes, 61706 * 4);
    console.log('  bun: writeArtifacts(dir) → readArtifacts(dir) → loadModel: the same logits');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test.run();
