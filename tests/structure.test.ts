import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

// The shape of the house (STYLE.md), checked: layers and models reach kernels only through ops
// (never src/runtime), ops know no layer or model, and no source file passes 500 lines.
// Paths are relative to the repository root (npm test runs there).

const MAX_LINES = 500;

// Known offenders, to be removed by the model rewrite (layers and the model calling rt() directly;
// sequential.ts over the line limit). Remove an entry when its file stops offending: the test also
// fails on an entry that no longer offends, so this list only shrinks.
const ALLOWED_RUNTIME_IMPORTS = new Set<string>([]);
const ALLOWED_LONG_FILES = new Set<string>([]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The repository-relative paths a TypeScript file imports (static, dynamic and re-exports). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => normalize(join(dirname(file), s)).replace(/\.js$/, '.ts').split('\\').join('/'));
}

const src = files('src').map((f) => relative('.', f).split('\\').join('/'));

test('src/layers and src/model do not import src/runtime (only ops call kernels)', () => {
  const offenders = src.filter((f) => /^src\/(layers|model)\//.test(f) && imports(f).some((i) => i.startsWith('src/runtime/')));
  const fresh = offenders.filter((f) => !ALLOWED_RUNTIME_IMPORTS.has(f));
  assert.equal(fresh, [], `new imports of src/runtime from layers or models: ${fresh.join(', ')}`);
  const stale = [...ALLOWED_RUNTIME_IMPORTS].filter((f) => !offenders.includes(f));
  assert.equal(stale, [], `no longer importing src/runtime, remove from ALLOWED_RUNTIME_IMPORTS: ${stale.join(', ')}`);
});

test('src/ops imports no layer and no model', () => {
  const offenders = src.filter((f) => f.startsWith('src/ops/') && imports(f).some((i) => /^src\/(layers|model)\//.test(i)));
  assert.equal(offenders, []);
});

test(`no source file in src/ or assembly/ passes ${MAX_LINES} lines`, () => {
  const all = [...src, ...files('assembly').map((f) => relative('.', f).split('\\').join('/'))];
  const long = all.map((f) => [f, readFileSync(f, 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > MAX_LINES);
  const fresh = long.filter(([f]) => !ALLOWED_LONG_FILES.has(f));
  assert.equal(fresh.map(([f, n]) => `${f}: ${n}`), [], 'split these files');
  const stale = [...ALLOWED_LONG_FILES].filter((f) => !long.some(([g]) => g === f));
  assert.equal(stale, [], `within the limit now, remove from ALLOWED_LONG_FILES: ${stale.join(', ')}`);
});

test.run();
