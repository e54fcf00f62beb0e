// Build: AssemblyScript kernels (three builds of one source) → build/*.wasm (and, not shipped,
// build/extras-*.wasm: benchmark and test probes), then the TypeScript
// host bundled by esbuild into dist/index.js with the wasm embedded as bytes (works where there is
// no file system), the .wasm files beside it (for runtimes that need a precompiled module), and
// .d.ts types from tsc. `node build.mjs --no-types` skips tsc (faster inner loop).
import asc from 'assemblyscript/asc';
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const targets = ['simd', 'relaxed-simd', 'scalar'];
const noTypes = process.argv.includes('--no-types');

async function compile(entry, target, extra = []) {
  const { error, stderr } = await asc.main([entry, '--config', 'asconfig.json', '--target', target, ...extra], {});
  if (error) {
    console.error(stderr.toString());
    console.error(`asc failed for ${entry}, target ${target}: ${error.message}`);
    process.exit(1);
  }
}

for (const target of targets) {
  await compile('assembly/index.ts', target);
  // The shared-memory build (threads): not embedded in the bundle, which derives it from the plain
  // bytes (src/runtime/shared.ts); checked below to have byte-identical code.
  await compile('assembly/index.ts', target, ['--enable', 'threads', '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '16384', '--outFile', `build/${target}-threads.wasm`, '--textFile', `build/${target}-threads.wat`]);
  // Not shipped: the benchmark's peak probe and the math probes of tests/math.test.ts.
  await compile('assembly/extras/index.ts', target, ['--outFile', `build/extras-${target}.wasm`, '--textFile', `build/extras-${target}.wat`]);
}

await checkSharedBuilds();
await writeSimdDelta();

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/wasm', { recursive: true });
for (const target of targets) {
  cpSync(`build/${target}.wasm`, `dist/wasm/${target}.wasm`);
  cpSync(`build/${target}-threads.wasm`, `dist/wasm/${target}-threads.wasm`);
}

/**
 * The bundle derives each shared-memory build from the plain one (src/runtime/shared.ts): check that
 * the derived module validates and that every section but memory, imports and data (the derived
 * module keeps the plain build's data segments, which assume zeroed memory — a fresh shared memory
 * is) is byte-identical to asc's own threads build.
 */
async function checkSharedBuilds() {
  const { sharedModuleBytes, wasmSections } = await importTs('src/runtime/shared.ts');
  for (const target of targets) {
    const plain = readFileSync(`build/${target}.wasm`), asThreads = readFileSync(`build/${target}-threads.wasm`);
    const derived = sharedModuleBytes(plain);
    if (!derived || (WebAssembly.validate(plain) && !WebAssembly.validate(derived))) throw new Error(`build: the derived shared ${target} build does not validate`);
    const a = wasmSections(derived).filter((s) => ![2, 5, 11, 12].includes(s.id));
    const b = wasmSections(asThreads).filter((s) => ![2, 5, 11, 12].includes(s.id));
    const same = a.length === b.length && a.every((s, i) => s.id === b[i].id && Buffer.compare(Buffer.from(s.body), Buffer.from(b[i].body)) === 0);
    if (!same) throw new Error(`build: the derived shared ${target} build's code differs from asc's --enable threads build`);
  }
}

/**
 * The bundle embeds the SIMD build as a delta against the relaxed-SIMD one (src/runtime/delta.ts):
 * written here, and checked to rebuild the exact bytes.
 */
async function writeSimdDelta() {
  const { makeDelta, applyDelta } = await importTs('src/runtime/delta.ts');
  const base = readFileSync('build/relaxed-simd.wasm'), target = readFileSync('build/simd.wasm');
  const delta = makeDelta(base, target);
  if (Buffer.compare(Buffer.from(applyDelta(base, delta)), target) !== 0) throw new Error('build: the SIMD delta does not rebuild build/simd.wasm');
  writeFileSync('build/simd-delta.bin', delta);
}

/** A module of src/ for this script (bundled to a temporary file and imported). */
async function importTs(entry) {
  const out = `build/import-${process.pid}-${entry.replace(/\W/g, '_')}.mjs`;
  await esbuild.build({ entryPoints: [entry], outfile: out, bundle: true, format: 'esm', platform: 'node', logLevel: 'warning' });
  try {
    return await import(`./${out}`);
  } finally {
    rmSync(out);
  }
}

await esbuild.build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  loader: { '.wasm': 'binary', '.bin': 'binary' },
  sourcemap: false,
  legalComments: 'none',
  // Minified (the wasm builds are most of the bytes; the rest is the host): the bundle stays under
  // the 200 KiB gzip budget. keepNames keeps class names, which error names come from.
  minify: true,
  keepNames: true,
  logLevel: 'warning',
});

// The MNIST command line (Node only; not part of the package).
await esbuild.build({
  entryPoints: ['src/cli/mnist.ts'],
  outfile: 'build/mnist.mjs',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'es2022',
  loader: { '.wasm': 'binary', '.bin': 'binary' },
  logLevel: 'warning',
});

if (!noTypes) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
