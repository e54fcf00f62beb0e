import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, zeros, fill, tidy, keep, memoryStats, backend, Tensor,
  ShapeError, DTypeError, DisposedError, OutOfMemoryError, ArgumentError, conv2dTranspose,
} from '../src/index.ts';
import { throwsTyped } from './helpers.ts';

test.before(async () => {
  await init();
});

test('tensor from flat and nested data, toArray copies', () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.equal(a.shape, [2, 3]);
  assert.is(a.dtype, 'float32');
  const copy = a.toArray();
  copy[0] = 99;
  assert.equal(Array.from(a.toArray()), [1, 2, 3, 4, 5, 6]);
  const b = tensor([[1, 2], [3, 4], [5, 6]]);
  assert.equal(b.shape, [3, 2]);
  const c = tensor([7, -8], [2], 'int32');
  assert.ok(c.toArray() instanceof Int32Array);
  assert.equal(Array.from(c.toArray()), [7, -8]);
  for (const t of [a, b, c]) t.dispose();
});

test('zeros and fill', () => {
  const z = zeros([2, 3, 4, 5]);
  assert.ok(z.toArray().every((v) => v === 0));
  const f = fill([3], 2.5);
  assert.equal(Array.from(f.toArray()), [2.5, 2.5, 2.5]);
  z.dispose();
  f.dispose();
});

test('bad tensor arguments throw typed errors', () => {
  throwsTyped(() => tensor([1, 2, 3], [2, 2]), ShapeError, 'tensor', '[2,2]', '3');
  throwsTyped(() => tensor([[1, 2], [3]]), ShapeError, 'ragged');
  throwsTyped(() => tensor([1.5], [1], 'int32'), DTypeError, 'int32');
  throwsTyped(() => tensor([1], [1], 'float64' as never), DTypeError, 'dtype');
  throwsTyped(() => zeros([2, -1]), ShapeError, 'zeros');
  assert.is(memoryStats().tensors, 0);
});

test('non-numeric data is an ArgumentError naming the index, never a silent NaN', () => {
  const before = memoryStats();
  throwsTyped(() => tensor(['a', 1] as never, [2]), ArgumentError, 'tensor', 'index 0', '"a"');
  throwsTyped(() => tensor([1, 2, '3'] as never), ArgumentError, 'index 2', 'string');
  throwsTyped(() => tensor([1, null, 3] as never), ArgumentError, 'null', 'index 1');
  throwsTyped(() => tensor([1, undefined] as never), ArgumentError, 'undefined', 'index 1');
  throwsTyped(() => tensor([1, {}] as never), ArgumentError, 'object', 'index 1');
  throwsTyped(() => tensor([1, [2]] as never), ArgumentError, 'array', 'index 1');
  // A hole in a sparse array reads as undefined.
  throwsTyped(() => tensor([1, , 3] as never), ArgumentError, 'undefined', 'index 1');
  throwsTyped(() => tensor([1, 'x'] as never, [2], 'int32'), ArgumentError, 'index 1');
  // Nested data names the nested index.
  throwsTyped(() => tensor([[1, 2], [3, 'four']] as never), ArgumentError, 'index [1,1]', '"four"');
  throwsTyped(() => tensor([[1, 2], [3, 4, 5]]), ShapeError, 'ragged', '[1]');
  throwsTyped(() => tensor([[1, 2], 3] as never), ShapeError, 'ragged', '[1]');
  throwsTyped(() => tensor([[[1], [2]], [[3], [4, 5]]]), ShapeError, 'ragged');
  throwsTyped(() => tensor([[1, 2], [[3], 4]] as never), ShapeError, 'ragged');
  // Not array-like at all.
  for (const bad of [undefined, null, 42, 'abc', {}, { data: [1] }, true, () => 1]) {
    throwsTyped(() => tensor(bad as never), ArgumentError, 'tensor', 'data must be');
    throwsTyped(() => tensor(bad as never, [1]), ArgumentError, 'tensor', 'data must be');
  }
  throwsTyped(() => tensor(new DataView(new ArrayBuffer(4)) as never, [1]), ArgumentError, 'DataView');
  throwsTyped(() => tensor(new BigInt64Array(2) as never, [2]), ArgumentError, 'BigInt64Array');
  const after = memoryStats();
  assert.is(after.tensors, before.tensors, 'failed tensor() calls leave no tensor behind');
  assert.is(after.bytes, before.bytes);
});

test('NaN and Infinity stay legal; typed arrays and array-likes are copied', () => {
  const a = tensor([NaN, Infinity, -Infinity, 1], [4]);
  const got = Array.from(a.toArray());
  assert.ok(Number.isNaN(got[0]));
  assert.equal(got.slice(1), [Infinity, -Infinity, 1]);
  const b = tensor(new Float32Array([NaN, 2]), [2]);
  assert.ok(Number.isNaN(b.toArray()[0]));
  const c = tensor(new Uint8Array([1, 255]), [2], 'int32');
  assert.equal(Array.from(c.toArray()), [1, 255]);
  const d = tensor({ length: 2, 0: 3, 1: 4 }, [2]);
  assert.equal(Array.from(d.toArray()), [3, 4]);
  const e = tensor([[1, 2], [3, 4]], undefined, 'int32');
  assert.equal(Array.from(e.toArray()), [1, 2, 3, 4]);
  throwsTyped(() => tensor([[1, 2], [3, 4.5]], undefined, 'int32'), DTypeError, 'int32', 'index 3');
  throwsTyped(() => tensor(new Float32Array([1, 0.5]), [2], 'int32'), DTypeError, 'index 1');
  for (const t of [a, b, c, d, e]) t.dispose();
});

test('disposed tensors cannot be used; dispose twice is harmless', () => {
  const a = tensor([1, 2], [2]);
  a.dispose();
  a.dispose();
  assert.ok(a.isDisposed);
  throwsTyped(() => a.toArray(), DisposedError, 'toArray', '[2]');
});

test('tidy frees what fn allocated but did not return, nested', () => {
  const before = memoryStats().tensors;
  let inner: Tensor | undefined;
  const out = tidy(() => {
    zeros([4]);
    const kept = keep(zeros([1]));
    const r = tidy(() => {
      zeros([8]);
      inner = zeros([2]);
      return { a: inner, list: [zeros([3])] };
    });
    assert.is(r.a, inner);
    kept.dispose();
    return r.list[0];
  });
  assert.is(memoryStats().tensors, before + 1);
  assert.ok(inner!.isDisposed);
  assert.ok(!out.isDisposed);
  out.dispose();
  assert.is(memoryStats().tensors, before);
  throwsTyped(() => tidy(() => Promise.resolve(1) as never), ArgumentError, 'synchronous');
});

test('tidy disposes on throw', () => {
  const before = memoryStats().tensors;
  assert.throws(() => tidy(() => {
    zeros([4]);
    throw new Error('boom');
  }), /boom/);
  assert.is(memoryStats().tensors, before);
});

test('a long alloc/free loop reuses memory instead of growing it', () => {
  const first = zeros([1000]);
  first.dispose();
  const reserved = memoryStats().wasmBytes;
  for (let i = 0; i < 2000; i++) {
    const n = 1 + ((i * 7919) % 5000);
    const a = zeros([n]);
    const b = zeros([n + 17]);
    a.dispose();
    const c = zeros([3 * n]);
    b.dispose();
    c.dispose();
  }
  assert.is(memoryStats().wasmBytes, Math.max(reserved, memoryStats().wasmBytes));
  assert.ok(memoryStats().wasmBytes <= Math.max(reserved, 4 * 65536 + 4 * 16000 * 4), `grew to ${memoryStats().wasmBytes}`);
  assert.is(memoryStats().tensors, 0);
});

test('views survive memory growth (no stale typed arrays)', () => {
  const a = tensor([1, 2, 3], [3]);
  const big = zeros([8 * 1024 * 1024]); // 32 MiB forces a grow
  assert.equal(Array.from(a.toArray()), [1, 2, 3]);
  const b = tensor([4, 5], [2]);
  assert.equal(Array.from(b.toArray()), [4, 5]);
  for (const t of [a, big, b]) t.dispose();
});

test('out of memory is a clear error that leaves earlier tensors intact', () => {
  const a = tensor([1, 2, 3], [3]);
  throwsTyped(() => zeros([1 << 30, 2]), OutOfMemoryError, 'zeros: out of wasm memory', 'requested', 'in use');
  assert.equal(Array.from(a.toArray()), [1, 2, 3]);
  // An op's output too large for wasm32 (40001² floats): the error names the op that asked.
  const x = tensor([1, 2, 3, 4], [1, 2, 2, 1]), w = tensor([1], [1, 1, 1, 1]);
  const before = memoryStats().tensors;
  throwsTyped(() => conv2dTranspose(x, w, { strides: 40000 }), OutOfMemoryError, 'conv2dTranspose: out of wasm memory');
  assert.is(memoryStats().tensors, before);
  for (const t of [a, x, w]) t.dispose();
});

test('backend is one of the three builds', () => {
  assert.ok(['relaxed-simd', 'simd', 'scalar'].includes(backend()));
});

test('allocator: 3,000 random allocations and frees never overlap live blocks (patterns survive)', () => {
  let seed = 99;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const live: Array<{ t: ReturnType<typeof tensor>; v: number }> = [];
  for (let i = 0; i < 3000; i++) {
    if (live.length && rand() < 0.45) {
      const k = Math.floor(rand() * live.length);
      const { t, v } = live[k];
      const a = t.toArray();
      for (let j = 0; j < a.length; j++) if (a[j] !== v) assert.unreachable(`block of ${t.size} floats corrupted at ${j}: ${a[j]} ≠ ${v}`);
      t.dispose();
      live.splice(k, 1);
    } else {
      const n = 1 + Math.floor(rand() ** 3 * 20000);
      const v = i + 0.5;
      live.push({ t: fill([n], v), v });
    }
  }
  for (const { t, v } of live) {
    assert.ok(t.toArray().every((x) => x === v), 'pattern intact at the end');
    t.dispose();
  }
  assert.is(memoryStats().tensors, 0);
});

test('no live tensors remain', () => {
  assert.is(memoryStats().tensors, 0);
});

test.run();
