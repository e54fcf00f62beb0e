// The Firefox smoke page (see index.html). Errors anywhere are POSTed too, so the test never waits
// for a report that cannot come.
import * as simdcnn from '/dist/index.js';
import * as smoke from '/tests/runtimes/smoke.js';
import { runBrowserExtras } from '/tests/runtimes/browser/extras.js';

const post = (path, body) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
addEventListener('error', (e) => { post('/error', { message: `${e.message} at ${e.filename}:${e.lineno}` }); });
addEventListener('unhandledrejection', (e) => { post('/error', { message: `unhandled rejection: ${e.reason?.stack ?? e.reason}` }); });

function inWorker() {
  return new Promise((resolve) => {
    const worker = new Worker('/tests/runtimes/browser/worker.js', { type: 'module' });
    worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
    worker.onerror = (e) => { worker.terminate(); resolve({ runtime: 'firefox worker', ok: false, errors: [`worker error: ${e.message}`] }); };
  });
}

async function main() {
  const page = await smoke.runSmoke(simdcnn, { runtime: `firefox page (${navigator.userAgent})`, alsoSimd: true });
  // runSmoke left the forced 'simd' build in place when it re-ran the LeNet: the extras run on it.
  const extras = await runBrowserExtras(simdcnn, smoke);
  const worker = await inWorker();
  return { page, worker, extras };
}

main()
  .then((r) => { document.getElementById('out').textContent = JSON.stringify(r, null, 1); return post('/report', r); })
  .catch((e) => post('/error', { message: String(e?.stack ?? e) }));
