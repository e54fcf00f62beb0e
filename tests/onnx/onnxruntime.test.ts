// Cross-check with ONNX Runtime (native, onnxruntime-node) when it is installed: the encoder's
// bytes load, and models rewritten by the passes (constants and BatchNormalization folded) still
// give PyTorch's outputs. Skipped when onnxruntime-node cannot be loaded (it is not a dependency);
// point ORT_NODE_PATH at an install elsewhere to run it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { encodeModel } from '../../src/io/onnx/encode.ts';
import { removeIdentity, foldConstants, foldBatchNorm } from '../../src/io/onnx/passes/index.ts';
import { allclose } from '../helpers.ts';
import { floats } from './helpers.ts';
import { MODELS, meta, modelBytes, goldenIO, graph, node, value, f32, model } from './helpers.ts';

interface Ort {
  InferenceSession: { create(bytes: Uint8Array): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> }> };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

let ort: Ort | null = null;
try {
  const path = process.env.ORT_NODE_PATH ?? 'onnxruntime-node';
  ort = createRequire(import.meta.url)(path) as Ort;
} catch {
  ort = null;
  console.log('onnxruntime-node not found: ONNX Runtime cross-checks skipped (set ORT_NODE_PATH to run them)');
}

async function run(bytes: Uint8Array, name: string): Promise<Float32Array> {
  const session = await ort!.InferenceSession.create(bytes);
  const info = meta(name);
  const out = await session.run({ input: new ort!.Tensor('float32', goldenIO(name).input, info.input.shape) });
  assert.equal([...out.output.dims], info.output.shape);
  return out.output.data;
}

for (const name of MODELS) {
  test(`onnxruntime-node: ${name} re-encoded, and after the rewriting passes, gives PyTorch's output`, async () => {
    if (!ort) return;
    const expected = goldenIO(name).output;
    const m = decodeModel(modelBytes(name));
    allclose(await run(encodeModel(m), name), expected, `${name} re-encoded`, 1e-4, 1e-5);
    removeIdentity(m.graph);
    foldConstants(m);
    foldBatchNorm(m.graph);
    allclose(await run(encodeModel(m), name), expected, `${name} after passes`, 1e-4, 1e-5);
  });
}

test('onnxruntime-node: a hand-built IR encoded with newModel (IR 8, opset 13, producer simdcnn) runs', async () => {
  if (!ort) return;
  const g = graph([value('x', [1, 1, 2, 2])], [value('y', [1, 2, 2, 2])], [f32('w', [2, 1, 1, 1], [2, -1]), f32('b', [2], [0.5, 0])], [
    node('Conv', ['x', 'w', 'b'], ['c'], { kernel_shape: [1, 1] }),
    node('Relu', ['c'], ['y']),
  ]);
  const session = await ort.InferenceSession.create(encodeModel(model(g)));
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, -2, 3, -4), [1, 1, 2, 2]) });
  assert.equal([...out.y.data], [2.5, 0, 6.5, 0, 0, 2, 0, 4]);
});

// torchvision's models, when `generate.py --bench` has written them (git-ignored, not in CI).
for (const name of ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'googlenet', 'efficientnet_b0']) {
  const base = `bench/models/${name}`;
  test(`onnxruntime-node: torchvision ${name} after the rewriting passes gives PyTorch's output`, async () => {
    if (!ort || !existsSync(`${base}.onnx`)) return;
    const m = decodeModel(new Uint8Array(readFileSync(`${base}.onnx`)));
    removeIdentity(m.graph);
    foldConstants(m);
    assert.ok(foldBatchNorm(m.graph) > 0 || name === 'squeezenet1_1', 'BatchNormalization folded');
    assert.not.ok(m.graph.nodes.some((n) => n.opType === 'BatchNormalization'), 'no BatchNormalization left');
    const session = await ort.InferenceSession.create(encodeModel(m));
    const out = await session.run({ input: new ort.Tensor('float32', floats(`${base}.input.bin`), [1, 3, 224, 224]) });
    // Random-weight logits are small; folding changes f32 rounding order: absolute 1e-4 on top of 1e-3 relative.
    allclose(out.output.data, floats(`${base}.output.bin`), `${name} after passes`, 1e-3, 1e-4);
  });
}

test.run();
