// Deno runner of the threads check: `deno run --allow-read tests/runtimes/deno-threads-main.js`.
// Prints the report as one JSON line.
import * as simdcnn from '../../dist/index.js';
import { threadsCheck } from './threads-check.js';

console.log(JSON.stringify(await threadsCheck(simdcnn)));
