// Test runner: bundle every tests/**/*.test.ts with esbuild (each bundle has its own copy of the
// library, so tests that force a backend do not disturb others), run each in its own process
// through tests/uvu-file.mjs, which writes the file's counts as JSON, and end with the line CI
// reads: `N passed, N failed`. A file that exits non-zero without reporting a failure (a crash,
// an import error, a hang cut short) counts as one failure. Arguments filter test files by substring.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.ts') && (!filters.length || filters.some((f) => p.includes(f)))) files.push(p);
  }
})('tests');
files.sort();

const outdir = `.build/tests-${process.pid}`;
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: files,
  outdir,
  outbase: 'tests',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'es2022',
  loader: { '.wasm': 'binary', '.bin': 'binary' },
  external: ['uvu', 'uvu/*'],
  logLevel: 'warning',
});

let passed = 0, failed = 0, skipped = 0;
for (const file of files) {
  const out = join(outdir, relative('tests', file)).replace(/\.ts$/, '.mjs');
  // A test file may ask for engine flags on its first line: `// node-flags: --flag ...`.
  const flags = (readFileSync(file, 'utf8').match(/^\/\/ node-flags: (.*)$/m) || [])[1]?.split(/\s+/) ?? [];
  const result = out.replace(/\.mjs$/, '.result.json');
  const r = spawnSync(process.execPath, [...flags, 'tests/uvu-file.mjs', out, result], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  const counts = existsSync(result) ? JSON.parse(readFileSync(result, 'utf8')) : null;
  if (counts) {
    passed += counts.passed;
    skipped += counts.skipped;
    failed += counts.failed;
  }
  if (r.status !== 0 && !(counts && counts.failed > 0)) {
    // Crashed before or after its tests: count the file as one failure.
    failed += 1;
    console.error(`${file}: exited with status ${r.status}${r.signal ? ` (${r.signal})` : ''}`);
  }
}
rmSync(outdir, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
