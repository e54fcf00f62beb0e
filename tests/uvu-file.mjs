// Runs one bundled test file under uvu with its queue deferred (uvu's own switch, UVU_DEFER, the
// one its CLI uses), runs the suites here and writes their counts as JSON to the path given:
// { total, passed, skipped, failed }. tests/run.mjs reads that file and the exit status, so no
// count depends on the wording of uvu's report. Usage: node tests/uvu-file.mjs FILE.mjs OUT.json
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [file, out] = process.argv.slice(2);
globalThis.UVU_DEFER = 1;
globalThis.UVU_QUEUE = [[null]];
await import(pathToFileURL(file).href);
const counts = { total: 0, passed: 0, skipped: 0, failed: 0 };
for (const run of globalThis.UVU_QUEUE[0].slice(1)) {
  // uvu's suite runner: [true | error report, passed, skipped, total].
  const [errors, passed, skipped, total] = await run();
  counts.total += total;
  counts.passed += passed;
  counts.skipped += skipped;
  if (errors !== true) process.stdout.write(`\n${errors}\n`);
}
counts.failed = counts.total - counts.passed - counts.skipped;
process.stdout.write(`\n  ${file}: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}\n`);
writeFileSync(out, JSON.stringify(counts));
process.exitCode = counts.failed ? 1 : 0;
