// Deno runner: `deno run --allow-read tests/runtimes/deno-main.js` from the repository root.
// Imports the built bundle as a Deno user would (a file URL, no npm resolution), runs the smoke
// suite with the default build (relaxed SIMD in Deno) and once more under the forced 'simd' build,
// and prints the report as one JSON line on stdout.
import * as simdcnn from '../../dist/index.js';
import { runSmoke } from './smoke.js';

const report = await runSmoke(simdcnn, { runtime: `deno ${Deno.version.deno} (V8 ${Deno.version.v8})`, alsoSimd: true });
console.log(JSON.stringify(report));
