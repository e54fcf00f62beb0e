// Main-thread half of the Chromium smoke page (see index.html).
import * as simdcnn from '/dist/index.js';
import * as smoke from '/tests/runtimes/smoke.js';
import { runBrowserExtras } from './extras.js';

function inWorker() {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
    worker.onerror = (e) => { worker.terminate(); resolve({ runtime: 'chromium worker', ok: false, errors: [`worker error: ${e.message}`] }); };
  });
}

async function main() {
  const page = await smoke.runSmoke(simdcnn, { runtime: `chromium page (${navigator.userAgent})`, alsoSimd: true });
  const extras = await runBrowserExtras(simdcnn, smoke);
  const worker = await inWorker();
  return { page, worker, extras };
}

window.smokeReports = main().catch((e) => ({ page: { ok: false, errors: [String(e?.stack ?? e)] } }));
window.smokeReports.then((r) => { document.getElementById('out').textContent = JSON.stringify(r, null, 1); });
