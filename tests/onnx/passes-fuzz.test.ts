// The passes on damaged models: decodable files with flipped bytes, and IRs with mutated attributes,
// inputs and constants. Every failure must be a typed simdcnn error (never a TypeError/RangeError
// from inside), and every case must finish quickly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimdcnnError } from '../../src/index.ts';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { optimize } from '../../src/io/onnx/passes/index.ts';
import type { Model } from '../../src/io/onnx/ir.ts';
import { rng } from '../helpers.ts';
import { MODELS, modelBytes } from './helpers.ts';

function check(m: Model, context: string): 'ok' | 'typed' {
  const t0 = performance.now();
  try {
    optimize(m);
    return 'ok';
  } catch (e) {
    if (!(e instanceof SimdcnnError)) assert.unreachable(`${context}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return 'typed';
  } finally {
    const ms = performance.now() - t0;
    if (ms > 500) assert.unreachable(`${context}: took ${ms.toFixed(0)} ms`);
  }
}

test('byte flips that still decode: the passes succeed or throw typed errors (seeded, 500 cases)', () => {
  const seed = 7, r = rng(seed);
  for (let k = 0; k < 500; k++) {
    const name = MODELS[k % MODELS.length];
    const bytes = modelBytes(name).slice();
    const flips = 1 + Math.floor(r() * 3);
    for (let f = 0; f < flips; f++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    let m: Model;
    try {
      m = decodeModel(bytes);
    } catch (e) {
      if (!(e instanceof SimdcnnError)) assert.unreachable(`${name} case ${k} (seed ${seed}): decode threw ${(e as Error).message}`);
      continue;
    }
    check(m, `${name} case ${k} (seed ${seed})`);
  }
});

test('mutated attributes, inputs and shape constants: typed errors only (seeded, 800 cases)', () => {
  const seed = 11, r = rng(seed);
  const values = [-5, -1, 0, 1, 2, 3, 7, 1e9, 2 ** 53 - 1, -(2 ** 53 - 1)];
  const pick = (): number => values[Math.floor(r() * values.length)];
  const names = ['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'axis', 'perm', 'axes', 'auto_pad', 'ceil_mode', 'transB', 'output_padding'];
  let typed = 0;
  for (let k = 0; k < 800; k++) {
    const name = MODELS[k % MODELS.length];
    const m = decodeModel(modelBytes(name));
    const node = m.graph.nodes[Math.floor(r() * m.graph.nodes.length)];
    const mode = Math.floor(r() * 4);
    const attrs = [...node.attributes.values()];
    if (mode === 0 && attrs.length) {
      const a = attrs[Math.floor(r() * attrs.length)];
      if (a.type === 'int') a.value = pick();
      else if (a.type === 'ints') a.value = Array.from({ length: Math.floor(r() * 6) }, pick);
      else if (a.type === 'float') a.value = [NaN, -1, 0, Infinity][Math.floor(r() * 4)];
      else if (a.type === 'string') a.value = ['', 'SAME_UPPER', 'VALID', 'x', 'linear', 'cubic'][Math.floor(r() * 6)];
    } else if (mode === 1) {
      const key = names[Math.floor(r() * names.length)];
      if (key === 'auto_pad') node.attributes.set(key, { type: 'string', value: ['SAME_UPPER', 'SAME_LOWER', 'VALID', 'NOTSET'][Math.floor(r() * 4)] });
      else if (['group', 'axis', 'ceil_mode', 'transB'].includes(key)) node.attributes.set(key, { type: 'int', value: pick() });
      else node.attributes.set(key, { type: 'ints', value: Array.from({ length: Math.floor(r() * 6) }, pick) });
    } else if (mode === 2) {
      const inits = [...m.graph.initializers.keys()];
      if (node.inputs.length) node.inputs[Math.floor(r() * node.inputs.length)] = inits[Math.floor(r() * inits.length)];
    } else {
      const inits = [...m.graph.initializers.values()];
      const t = inits[Math.floor(r() * inits.length)];
      if (t.dtype === 'int64') t.data = (t.data as number[]).map(pick);
      else t.dims = t.dims.slice().reverse();
    }
    if (check(m, `${name} case ${k} (seed ${seed}): ${node.opType} '${node.name}'`) === 'typed') typed++;
  }
  assert.ok(typed > 100, `${typed} of 800 mutated models rejected`);
});

test.run();
