// How much a second thread can give on this machine right now (a shared VM's second vCPU is often
// busy with other work): the throughput of two CPU-bound JavaScript jobs on two threads over one
// job alone. 2.00 = a free second core. Printed beside the thread benchmarks so figures can be judged.
import { Worker } from 'node:worker_threads';

export async function machineScaling() {
  const src = 'let x = 0; for (let i = 0; i < 1e8; i++) x = (x + i * 7) % 1000003; require("worker_threads").parentPort.postMessage(x);';
  const job = () => { let x = 0; for (let i = 0; i < 1e8; i++) x = (x + i * 7) % 1000003; return x; };
  let t = performance.now();
  job();
  const one = performance.now() - t;
  t = performance.now();
  const w = new Worker(src, { eval: true });
  const done = new Promise((r) => w.once('message', r));
  job();
  await done;
  const two = performance.now() - t;
  await w.terminate();
  return (2 * one) / two;
}
