// Web Worker half of the Chromium smoke page: the same suite with init({ module: fetch(...) }),
// the path users take to load a .wasm file they host themselves.
import * as simdcnn from '/dist/index.js';
import { runSmoke } from '/tests/runtimes/smoke.js';

const report = await runSmoke(simdcnn, { runtime: 'chromium module worker', init: { module: fetch('/dist/wasm/simd.wasm') } });
postMessage(report);
