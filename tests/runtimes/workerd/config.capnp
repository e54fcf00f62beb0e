# workerd config for the edge smoke test (tests/runtimes/workerd.test.ts). Embedded paths are
# relative to this file: the worker, the shared smoke suite, the built bundle and the SIMD build
# as a wasm module (workerd refuses WebAssembly.compile from bytes). The test overrides the
# socket's address with `--socket-addr http=127.0.0.1:<free port>`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .smokeWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const smokeWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "smoke.js", esModule = embed "../smoke.js"),
    (name = "simdcnn.js", esModule = embed "../../../dist/index.js"),
    (name = "simd.wasm", wasm = embed "../../../dist/wasm/simd.wasm"),
  ],
  compatibilityDate = "2026-11-01",
);
