// Bun runner: `bun tests/runtimes/bun-main.js <scratch dir>` from the repository root. Imports the
// built bundle by path (as a Bun user would), runs the smoke suite with the build Bun's
// JavaScriptCore picks and once more under the forced 'simd' build, then round-trips a LeNet-5
// through writeArtifacts/readArtifacts in the scratch directory (the file target: Bun's node:fs),
// and prints the report as one JSON line on stdout.
import * as simdcnn from '../../dist/index.js';
import { runSmoke, buildLenet, lenetPredict } from './smoke.js';

const report = await runSmoke(simdcnn, { runtime: `bun ${Bun.version} (JavaScriptCore)`, alsoSimd: true });
try {
  const model = buildLenet(simdcnn);
  const saved = model.save();
  await simdcnn.writeArtifacts(process.argv[2], { modelJson: saved.topology, weights: saved.weights });
  const { modelJson, weights } = await simdcnn.readArtifacts(process.argv[2]);
  const loaded = simdcnn.loadModel({ topology: modelJson, weights });
  const a = lenetPredict(simdcnn, model), b = lenetPredict(simdcnn, loaded);
  report.fileRoundTrip = { ok: JSON.stringify(a.logits) === JSON.stringify(b.logits), weightsBytes: weights.byteLength };
  model.dispose();
  loaded.dispose();
} catch (e) {
  report.fileRoundTrip = { ok: false, error: String(e?.stack ?? e) };
}
console.log(JSON.stringify(report));
