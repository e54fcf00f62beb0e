// A tiny static server for the demo: serves demo/ (index.html, style.css, dist/, model/) on
// 127.0.0.1 only and prints the URL. Usage: node demo/serve.mjs [--port N] (default 8080, or $PORT;
// 0 lets the OS pick a free port; when 8080 is taken a free port is used instead).
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const HOST = '127.0.0.1';
const i = process.argv.indexOf('--port');
const explicit = i >= 0 ? process.argv[i + 1] : process.env.PORT;
const port = explicit !== undefined ? Number(explicit) : 8080;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo/serve.mjs: bad port ${JSON.stringify(explicit)}`);
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'demo.js'))) console.warn('demo/serve.mjs: warning: dist/demo.js is missing: run `node demo/build.mjs`');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

const server = createServer((req, res) => {
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(root, path));
  const inside = file.startsWith(root + sep);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !inside || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const body = readFileSync(file);
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
});

function listen(p) {
  server.once('error', (e) => {
    if (e.code === 'EADDRINUSE' && explicit === undefined && p !== 0) {
      console.warn(`demo/serve.mjs: port ${p} is taken, using a free one`);
      listen(0);
    } else {
      console.error(`demo/serve.mjs: ${e.message}`);
      process.exit(1);
    }
  });
  server.listen(p, HOST, () => {
    console.log(`simdcnn demo: http://${HOST}:${server.address().port}/  (Ctrl+C to stop)`);
  });
}
listen(port);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
