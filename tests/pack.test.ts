// Package hygiene: what `npm pack` ships, that the "exports" map resolves for Node, Deno and a
// browser bundler from the packed tarball, that a strict TypeScript consumer (tests/consumer/)
// type-checks against the packed types, and the gzip size of the bundle. Assumes `node build.mjs`
// (with types) has built dist/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, nativeBinary } from './runtimes/helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_loglevel: 'error' };

/** What we mean to ship: the bundle, its types, the three wasm builds, README, LICENSE, package.json. */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^dist\/index\.js$/,
  /^dist\/wasm\/(simd|relaxed-simd|scalar)(-threads)?\.wasm$/,
  /^dist\/types\/[\w/.-]+\.d\.ts$/,
];
const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/types/index.d.ts', 'dist/wasm/simd.wasm', 'dist/wasm/relaxed-simd.wasm', 'dist/wasm/scalar.wasm'];

/** Run a command asynchronously (so several run at once), bounded, and return its output. */
function exec(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const timer = setTimeout(() => { out += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { out += String(e); });
    child.on('close', (code) => { clearTimeout(timer); res({ code, out }); });
  });
}

/** The .d.ts files (package-relative) that `entry` imports, transitively, each with its first importer. */
function reachableTypes(entry: string): Map<string, string> {
  const seen = new Map<string, string>([[entry, '(entry)']]);
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    const full = join(ROOT, f);
    if (!existsSync(full)) continue;
    const text = readFileSync(full, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      let target = posix.normalize(posix.join(posix.dirname(f), m[1])).replace(/\.js$/, '.d.ts');
      if (!target.endsWith('.d.ts')) target += '.d.ts';
      if (!seen.has(target)) { seen.set(target, `${f} (import '${m[1]}')`); todo.push(target); }
    }
  }
  return seen;
}

let work = '';
let tarball = '';

test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'simdcnn-pack-'));
});

test.after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('npm pack ships dist, types, wasm, README, LICENSE and nothing else', () => {
  assert.ok(existsSync(join(ROOT, 'dist/types/index.d.ts')), 'dist/types is missing: run `node build.mjs` (with types) first');
  const t0 = Date.now();
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: NPM_ENV, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(json) as Array<{ files: Array<{ path: string; size: number }>; size: number; unpackedSize: number; entryCount: number }>;
  const files = info.files.map((f) => f.path).sort();
  for (const f of REQUIRED) assert.ok(files.includes(f), `the package must contain ${f}`);
  const unexpected = files.filter((f) => !SHIPPED.some((re) => re.test(f)));
  assert.equal(unexpected, [], 'files we do not mean to ship');
  // Spelled out, the things that must never leak in.
  for (const f of files) {
    assert.not.match(f, /^(tests|src|assembly|build|bench|demo|node_modules|\.ci|\.build)\//, `${f} must not ship`);
    assert.ok(!/\.ts$/.test(f) || /\.d\.ts$/.test(f), `${f}: TypeScript sources stay out (only .d.ts ships)`);
    assert.not.match(f, /\.map$/, `${f}: no source maps (none are built)`);
  }
  assert.not.ok(files.some((f) => f.startsWith('dist/types/cli/')), 'the MNIST command line is not part of the package');
  // Every declaration the entry's types import (transitively) ships; those nothing imports are dead weight
  // (the exports map hides them) and only noted.
  const reachable = reachableTypes('dist/types/index.d.ts');
  const missing = [...reachable].filter(([f]) => !files.includes(f)).map(([f, by]) => `${f}, imported by ${by}`).sort();
  assert.equal(missing, [], 'declaration files imported by the shipped types but not in the package');
  const dead = files.filter((f) => f.endsWith('.d.ts') && !reachable.has(f));
  if (dead.length) console.log(`  note: ${dead.length} shipped .d.ts not reachable from index.d.ts: ${dead.join(', ')}`);
  assert.ok(info.size < 1024 * 1024, `the tarball is ${info.size} bytes: the spec promises a few hundred KB`);
  console.log(`  npm pack: ${files.length} files, tarball ${(info.size / 1024).toFixed(1)} KiB, unpacked ${(info.unpackedSize / 1024).toFixed(1)} KiB (${Date.now() - t0} ms)`);
});

test('bundle size (gzip)', () => {
  const js = readFileSync(join(ROOT, 'dist/index.js'));
  const gz = gzipSync(js, { level: 9 }).length;
  const wasm = readdirSync(join(ROOT, 'dist/wasm')).sort().map((f) => {
    const b = readFileSync(join(ROOT, 'dist/wasm', f));
    return `${f} ${(b.length / 1024).toFixed(1)} KiB (gzip ${(gzipSync(b, { level: 9 }).length / 1024).toFixed(1)} KiB)`;
  });
  console.log(`  dist/index.js: ${js.length} bytes (${(js.length / 1024).toFixed(1)} KiB), gzip -9: ${gz} bytes (${(gz / 1024).toFixed(1)} KiB) — all three wasm builds embedded (SIMD as a delta against relaxed SIMD)`);
  console.log(`  beside it: ${wasm.join(', ')}`);
  assert.ok(gz < 400 * 1024, `gzip size ${gz} bytes: the spec promises a few hundred KB`);
});

test('the packed tarball installs: exports resolve in Node, Deno and a browser bundler', async () => {
  const t0 = Date.now();
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, env: NPM_ENV, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  tarball = join(work, (JSON.parse(out) as Array<{ filename: string }>)[0].filename);
  assert.ok(existsSync(tarball), 'npm pack wrote the tarball');
  // A consumer project: node_modules/simdcnn is the extracted tarball (what `npm install` would put there).
  const app = join(work, 'app');
  const dest = join(app, 'node_modules', 'simdcnn');
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1'], { timeout: 30_000 });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { simdcnn: pkg.version } }));
  // The probe runs the smoke basics through the package name, in Node and in Deno.
  writeFileSync(join(app, 'probe.mjs'), [
    "import * as simdcnn from 'simdcnn';",
    'const backend = await simdcnn.init();',
    'const x = simdcnn.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);',
    'const w = simdcnn.tensor([1, 2, 3, 4], [2, 2, 1, 1]);',
    'const y = Array.from(simdcnn.conv2d(x, w).toArray());',
    "const wasmUrl = import.meta.resolve('simdcnn/wasm/simd.wasm');",
    'console.log(JSON.stringify({ backend, y, exports: Object.keys(simdcnn).length, hasSequential: typeof simdcnn.sequential, wasmUrl }));',
  ].join('\n'));

  const deno = nativeBinary('deno', ['@deno/linux-x64-glibc/deno', '@deno/linux-arm64-glibc/deno']);
  const denoDir = join(work, 'deno-dir');
  const [node, den] = await Promise.all([
    exec(process.execPath, ['probe.mjs'], app, 20_000),
    deno
      ? exec(deno, ['run', '--allow-read', '--no-prompt', '--node-modules-dir=manual', 'probe.mjs'], app, 30_000, { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' })
      : Promise.resolve({ code: 0, out: '' }),
  ]);
  for (const [name, r] of [['node', node], ['deno', den]] as const) {
    if (name === 'deno' && !deno) { console.log('  SKIPPED deno: not installed (.ci/run installs it: npm install --no-save deno)'); continue; }
    assert.is(r.code, 0, `${name} import('simdcnn') from the packed tarball failed:\n${r.out}`);
    const res = JSON.parse(r.out.trim().split('\n').pop() ?? '');
    assert.equal(res.y, [37, 47, 67, 77], `${name}: conv2d through the package`);
    assert.is(res.hasSequential, 'function', `${name}: sequential is exported`);
    assert.match(res.wasmUrl, /node_modules\/simdcnn\/dist\/wasm\/simd\.wasm$/, `${name}: simdcnn/wasm/* resolves to dist/wasm`);
    console.log(`  ${name}: import('simdcnn') → ${res.exports} exports, init() → ${res.backend}`);
  }

  // A browser bundle of the package (esbuild, platform browser: the "browser"/"import"/"default" conditions).
  // A variable specifier: tests/run.mjs's esbuild must not bundle esbuild itself into this test.
  const esbuildName = 'esbuild';
  const esbuild = (await import(esbuildName)) as typeof import('esbuild');
  const bundled = await esbuild.build({
    stdin: { contents: "import { init, conv2d } from 'simdcnn'; export { init, conv2d };", resolveDir: app, loader: 'js' },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', metafile: true,
  });
  const inputs = Object.keys(bundled.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith('node_modules/simdcnn/dist/index.js')), `browser bundle resolves simdcnn to dist/index.js (${inputs.join(', ')})`);
  assert.not.match(bundled.outputFiles[0].text, /require\(["']node:|from ["']node:/, 'no node: built-ins in the browser bundle');
  console.log(`  esbuild (platform browser): simdcnn → dist/index.js (${(Date.now() - t0)} ms for pack, install, node, deno, esbuild)`);
});

test('a strict TypeScript consumer type-checks against the packed types', async () => {
  assert.ok(tarball, 'needs the packed tarball of the previous test');
  const app = join(work, 'app');
  for (const f of readdirSync(join(ROOT, 'tests/consumer'))) copyFileSync(join(ROOT, 'tests/consumer', f), join(app, f));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const t0 = Date.now();
  const results = await Promise.all(['tsconfig.json', 'tsconfig.bundler.json'].map((config) =>
    exec(process.execPath, [tsc, '-p', config, '--pretty', 'false'], app, 60_000).then((r) => ({ config, ...r }))));
  for (const r of results) {
    assert.is(r.code, 0, `tsc -p tests/consumer/${r.config} against the packed types:\n${r.out}`);
  }
  console.log(`  tsc (strict, skipLibCheck off; nodenext + lib webworker, bundler + lib dom): ok (${Date.now() - t0} ms)`);

  // The same program runs (types and runtime agree): esbuild strips the types, Node runs it from the package.
  const esbuildName = 'esbuild';
  const esbuild = (await import(esbuildName)) as typeof import('esbuild');
  const js = await esbuild.transform(readFileSync(join(app, 'main.mts'), 'utf8'), { loader: 'ts', format: 'esm', target: 'es2022' });
  writeFileSync(join(app, 'main.mjs'), js.code);
  writeFileSync(join(app, 'run-main.mjs'), "import { main } from './main.mjs';\nconsole.log(JSON.stringify(await main()));\n");
  const r = await exec(process.execPath, ['run-main.mjs'], app, 30_000);
  assert.is(r.code, 0, `the consumer program failed:\n${r.out}`);
  const values = JSON.parse(r.out.trim().split('\n').pop() ?? '') as number[];
  assert.equal(values.slice(0, 5), [2, 4, 4, 4, 1], 'pooled shape [2, 4, 4, 4] and one epoch of history');
  assert.is(values.length, 5 + 2 + 40, 'loss, accuracy and 4×10 logits');
  assert.ok(values.every(Number.isFinite), 'finite results');
  console.log(`  the consumer program runs from the package: fit, predict, save, loadModel, evaluate (loss ${values[5].toFixed(4)})`);
});

test.run();
