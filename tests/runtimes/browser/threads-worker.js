// Module Web Worker half of the Chromium threads page: the check with the shipped shared-memory
// build fetched as a module (init({ module, threads })), nested workers from the bundle's Blob URL.
import * as simdcnn from '/dist/index.js';
import { threadsCheck } from '/tests/runtimes/threads-check.js';

postMessage(await threadsCheck(simdcnn, { init: () => ({ module: fetch('/dist/wasm/simd-threads.wasm') }) }));
