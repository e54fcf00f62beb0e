// Build the demo bundle: demo/demo.ts (and the library sources it imports, with the three wasm
// builds embedded as bytes) → demo/dist/demo.js. Needs build/*.wasm: run `node build.mjs` first
// (`npm run demo` does). Usage: node demo/build.mjs [--quiet]
import * as esbuild from 'esbuild';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const quiet = process.argv.includes('--quiet');

for (const t of ['simd', 'relaxed-simd', 'scalar']) {
  if (!existsSync(join(root, 'build', `${t}.wasm`))) {
    console.error(`demo/build.mjs: build/${t}.wasm is missing: run \`node build.mjs\` first`);
    process.exit(1);
  }
}
for (const f of ['model.json', 'weights.bin']) {
  if (!existsSync(join(here, 'model', f))) console.warn(`demo/build.mjs: warning: demo/model/${f} is missing (train with \`npm run mnist -- --out demo/model\`)`);
}

const outfile = join(here, 'dist', 'demo.js');
rmSync(join(here, 'dist'), { recursive: true, force: true });
const t0 = Date.now();
await esbuild.build({
  entryPoints: [join(here, 'demo.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
if (!quiet) console.log(`demo: built ${relative(process.cwd(), outfile)} (${Math.round(statSync(outfile).size / 1024)} KB) in ${Date.now() - t0} ms`);
