// Build: AssemblyScript kernels (three builds of one source) → build/*.wasm (and, not shipped,
// build/extras-*.wasm: benchmark and test probes), then the TypeScript
// host bundled by esbuild into dist/index.js with the wasm embedded as bytes (works where there is
// no file system), the .wasm files beside it (for runtimes that need a precompiled module), and
// .d.ts types from tsc. `node build.mjs --no-types` skips tsc (faster inner loop).
import asc from 'assemblyscript/asc';
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

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
  // Not shipped: the benchmark's peak probe and the math probes of tests/math.test.ts.
  await compile('assembly/extras/index.ts', target, ['--outFile', `build/extras-${target}.wasm`, '--textFile', `build/extras-${target}.wat`]);
}

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/wasm', { recursive: true });
for (const target of targets) cpSync(`build/${target}.wasm`, `dist/wasm/${target}.wasm`);

await esbuild.build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  sourcemap: false,
  legalComments: 'none',
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
  loader: { '.wasm': 'binary' },
  logLevel: 'warning',
});

if (!noTypes) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
