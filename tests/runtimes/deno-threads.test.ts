// Deno with threads: Web Workers from a Blob URL on a shared WebAssembly.Memory; every result
// bit-identical with 1, 2 and 3 threads (tests/runtimes/threads-check.js), and deno exits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, nativeBinary, run } from './helpers.js';

test('deno: ops and LeNet-5 training bit-identical with 1, 2 and 3 threads; the process exits', async () => {
  const deno = nativeBinary('deno', ['@deno/linux-x64-glibc/deno', '@deno/linux-arm64-glibc/deno']);
  if (!deno) {
    console.log('  SKIPPED: deno not installed (node_modules/.bin/deno missing; .ci/run installs it: npm install --no-save deno)');
    return;
  }
  const denoDir = mkdtempSync(join(tmpdir(), 'simdcnn-deno-'));
  try {
    const r = await run(deno, ['run', '--allow-read', '--no-prompt', 'tests/runtimes/deno-threads-main.js'], {
      timeoutMs: 60_000, cwd: ROOT, env: { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    assert.not.ok(r.timedOut, `deno timed out (a worker keeping it alive?); stderr:\n${r.stderr}`);
    assert.is(r.code, 0, `deno exited with ${r.code}; stderr:\n${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { threads: number[]; results: number; mismatches: string[]; backend: string; ms: number };
    assert.equal(report.threads, [1, 2, 3]);
    assert.equal(report.mismatches, []);
    console.log(`  deno (${report.backend}): ${report.results} results bit-identical with 1, 2 and 3 threads in ${report.ms} ms; process ${r.ms} ms`);
  } finally {
    rmSync(denoDir, { recursive: true, force: true });
  }
});

test.run();
