import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

// The MNIST command line (build/mnist.mjs, built by build.mjs) rejects typos and bad values with
// its usage message before it loads anything.
const run = (...args: string[]) => spawnSync(process.execPath, ['build/mnist.mjs', ...args], { encoding: 'utf8' });

test('mnist CLI: an unknown option (--epoch for --epochs) stops with the usage message', () => {
  const r = run('--epoch', '3');
  assert.is(r.status, 2);
  assert.match(r.stderr, "Unknown option '--epoch'");
  assert.match(r.stderr, 'usage: npm run mnist');
});

test('mnist CLI: bad values and a stray positional argument are refused', () => {
  for (const args of [['--epochs', 'x'], ['--dropout', '1'], ['--backend', 'gpu'], ['extra']]) {
    const r = run(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, 'usage: npm run mnist');
  }
});

test('mnist CLI: --help prints the usage and exits 0', () => {
  const r = run('--help');
  assert.is(r.status, 0);
  assert.match(r.stdout, '--epochs N');
});

test.run();
