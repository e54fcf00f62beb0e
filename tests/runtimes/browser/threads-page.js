// Main-thread half of the Chromium threads page; the worker half is threads-worker.js.
import * as simdcnn from '/dist/index.js';
import { threadsCheck } from '/tests/runtimes/threads-check.js';

window.threadReports = (async () => {
  const page = await threadsCheck(simdcnn);
  const worker = await new Promise((resolve, reject) => {
    const w = new Worker('/tests/runtimes/browser/threads-worker.js', { type: 'module' });
    w.onmessage = (e) => { resolve(e.data); w.terminate(); };
    w.onerror = (e) => reject(new Error(e.message));
  });
  const reports = { isolated: self.crossOriginIsolated, page, worker };
  document.getElementById('out').textContent = JSON.stringify(reports, null, 2);
  return reports;
})();
