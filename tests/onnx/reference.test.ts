// The f64 reference evaluator of the IR reproduces PyTorch's outputs on every generated model,
// so the pass tests can use it as the judge of "the graph still computes the same function".
import { test } from 'uvu';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { allclose } from '../helpers.ts';
import { MODELS, meta, modelBytes, goldenIO } from './helpers.ts';
import { evaluate } from './reference.ts';

for (const name of MODELS) {
  test(`reference evaluation of ${name}.onnx matches PyTorch`, () => {
    const m = decodeModel(modelBytes(name));
    const { input, output } = goldenIO(name);
    const info = meta(name);
    const y = evaluate(m, { input: { shape: info.input.shape, data: Float64Array.from(input) } }).output;
    allclose(y.data, output, `${name} (rtol 1e-4, atol 1e-5: float32 PyTorch vs f64 loops)`, 1e-4, 1e-5);
  });
}

test.run();
