import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { init, backend, tensor, conv2d, memoryStats, InitError, ArgumentError } from '../src/index.ts';

// init's loading paths: embedded bytes (default), a precompiled Module (what edge runtimes pass),
// bytes, a Response, and the errors for wrong input. Built .wasm files come from build/.

const simdBytes = readFileSync('build/simd.wasm');
const scalarBytes = readFileSync('build/scalar.wasm');

test('ops before init throw InitError', () => {
  try {
    tensor([1], [1]);
    assert.unreachable('expected InitError');
  } catch (e) {
    assert.instance(e, InitError);
    assert.match((e as Error).message, 'await init()');
  }
});

test('init() picks a build and is idempotent', async () => {
  const b = await init();
  assert.ok(['relaxed-simd', 'simd', 'scalar'].includes(b));
  assert.is(await init(), b);
  assert.is(backend(), b);
});

test('init({ module }) accepts a compiled WebAssembly.Module and names its build', async () => {
  const keep = tensor([1, 2], [2]);
  assert.is(await init({ module: new WebAssembly.Module(scalarBytes) }), 'scalar');
  assert.ok(keep.isDisposed, 'replacing the runtime disposes the old tensors');
  assert.is(memoryStats().tensors, 0);
  const y = conv2d(tensor([1, 2, 3, 4], [1, 2, 2, 1]), tensor([1, 1, 1, 1], [2, 2, 1, 1]));
  assert.equal(Array.from(y.toArray()), [10]);
});

test('init({ module }) accepts bytes and a Response', async () => {
  assert.is(await init({ module: new Uint8Array(simdBytes) }), 'simd');
  assert.is(await init({ module: new Response(simdBytes, { headers: { 'content-type': 'application/wasm' } }) }), 'simd');
  assert.is(backend(), 'simd');
});

test('init({ module: file URL }) reads the file in Node; a missing file is an InitError naming it', async () => {
  const { pathToFileURL } = await import('node:url');
  assert.is(await init({ module: pathToFileURL('build/scalar.wasm') }), 'scalar');
  const missing = pathToFileURL('build/no-such.wasm');
  try {
    await init({ module: missing });
    assert.unreachable('expected InitError');
  } catch (e) {
    assert.instance(e, InitError);
    assert.match((e as Error).message, missing.href);
  }
});

test('init rejects a module of another build than the backend asked for, unknown backends and non-modules', async () => {
  try {
    await init({ module: new WebAssembly.Module(scalarBytes), backend: 'simd' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InitError);
    assert.match((e as Error).message, "'scalar' build");
  }
  try {
    await init({ backend: 'gpu' as never });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ArgumentError);
  }
  const notOurs = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  try {
    await init({ module: notOurs });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InitError);
  }
  try {
    await init({ module: new Response('missing', { status: 404 }) });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InitError);
    assert.match((e as Error).message, '404');
  }
});

test('init({ backend: "scalar" }) forces the scalar build', async () => {
  assert.is(await init({ backend: 'scalar' }), 'scalar');
  assert.is(backend(), 'scalar');
  assert.is(memoryStats().tensors, 0);
});

test.run();
