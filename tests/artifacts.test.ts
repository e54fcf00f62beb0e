// writeArtifacts / readArtifacts in Node: a directory round trip (plain path, file:// URL, the
// model.json path), a real model saved and loaded through the files, an http(s) URL served by a
// node:http server here, and every failure a typed error: missing, truncated, too long, garbage,
// missing fields, a weightsPath that leaves the directory, targets Node cannot use.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  init, writeArtifacts, readArtifacts, lenet5, loadModel, tensor, memoryStats,
  ArgumentError, NotFoundError, DataError, type SavedModel,
} from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'simdcnn-artifacts-'));
test.before(async () => { await init(); });
test.after(() => rmSync(root, { recursive: true, force: true }));

const bytes = (n: number, seed = 1): ArrayBuffer => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255).buffer;

async function rejects(p: Promise<unknown>, type: new (...a: never[]) => Error, ...fragments: string[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type, `expected ${type.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `"${(e as Error).message}" lacks "${f}"`);
    return;
  }
  assert.unreachable(`expected ${type.name}`);
}

test('directory round trip: plain path, file:// URL and the model.json path; no temporary files left', async () => {
  const dir = join(root, 'a', 'nested', 'dir');
  const modelJson = { format: 'x', layers: [1, 2, { k: 'v' }] };
  await writeArtifacts(dir, { modelJson, weights: bytes(1001) });
  assert.equal(readdirSync(dir).sort(), ['model.json', 'weights.bin']);
  const onDisk = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  assert.equal(onDisk, { ...modelJson, weightsPath: 'weights.bin', weightsBytes: 1001 });
  for (const source of [dir, pathToFileURL(dir).href, pathToFileURL(dir), join(dir, 'model.json')]) {
    const back = await readArtifacts(source);
    assert.equal(back.modelJson, modelJson);
    assert.equal(new Uint8Array(back.weights), new Uint8Array(bytes(1001)));
  }
  // Overwrite in place (a file:// URL target), a typed-array view as weights.
  await writeArtifacts(pathToFileURL(dir).href, { modelJson: { v: 2 }, weights: new Uint8Array(bytes(10, 7)).subarray(2, 6) as never });
  const back = await readArtifacts(dir);
  assert.equal(back.modelJson, { v: 2 });
  assert.equal(Array.from(new Uint8Array(back.weights)), Array.from(new Uint8Array(bytes(10, 7)).subarray(2, 6)));
  assert.equal(readdirSync(dir).sort(), ['model.json', 'weights.bin']);
});

test('a LeNet-5 saved through the files predicts the same after loading', async () => {
  const model = lenet5({ seed: 3 });
  const saved = model.save() as SavedModel;
  const dir = join(root, 'lenet');
  await writeArtifacts(dir, { modelJson: saved.topology as unknown as Record<string, unknown>, weights: saved.weights });
  const { modelJson, weights } = await readArtifacts(dir);
  const loaded = loadModel({ topology: modelJson as unknown as SavedModel['topology'], weights });
  const x = tensor(Float32Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i)), [2, 28, 28, 1]);
  const a = model.predict(x), b = loaded.predict(x);
  assert.equal(Array.from(b.toArray()), Array.from(a.toArray()));
  for (const t of [x, a, b]) t.dispose();
  model.dispose();
  loaded.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('a model.json without weightsPath and weightsBytes (the MNIST CLI, the first release) reads weights.bin beside it', async () => {
  const dir = join(root, 'old-style');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'x', layers: [] }));
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(bytes(12)));
  const r = await readArtifacts(dir);
  assert.equal(r.modelJson, { format: 'x', layers: [] });
  assert.is(r.weights.byteLength, 12);
});

test('missing, truncated, too long, garbage, missing fields, escaping weightsPath: typed errors', async () => {
  const dir = join(root, 'bad');
  await rejects(readArtifacts(join(root, 'nope')), NotFoundError, 'model.json', 'does not exist');
  await writeArtifacts(dir, { modelJson: { a: 1 }, weights: bytes(100) });
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(bytes(60)));
  await rejects(readArtifacts(dir), DataError, 'weights.bin', '60 bytes', '100', 'truncated');
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(bytes(101)));
  await rejects(readArtifacts(dir), DataError, 'too long');
  rmSync(join(dir, 'weights.bin'));
  await rejects(readArtifacts(dir), NotFoundError, 'weights.bin');
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(bytes(100)));
  const cases: Array<[string, string]> = [
    ['{"a": 1, "weightsPath": "weights.bin", "weightsBy', 'not JSON'],
    ['\x00\x01garbage', 'not JSON'],
    ['[1, 2]', 'JSON object'],
    ['null', 'JSON object'],
    ['{"a": 1, "weightsPath": 5, "weightsBytes": 100}', '"weightsPath"'],
    ['{"a": 1, "weightsPath": "weights.bin", "weightsBytes": null}', '"weightsBytes"'],
    ['{"weightsPath": "weights.bin", "weightsBytes": -1}', '"weightsBytes"'],
    ['{"weightsPath": "weights.bin", "weightsBytes": "100"}', '"weightsBytes"'],
    ['{"weightsPath": "../bad/weights.bin", "weightsBytes": 100}', '"weightsPath"'],
    ['{"weightsPath": "/etc/passwd", "weightsBytes": 100}', '"weightsPath"'],
    ['{"weightsPath": "http://evil/x.bin", "weightsBytes": 100}', '"weightsPath"'],
  ];
  for (const [text, fragment] of cases) {
    writeFileSync(join(dir, 'model.json'), text);
    await rejects(readArtifacts(dir), DataError, 'readArtifacts', fragment);
  }
});

test('bad arguments and targets Node cannot use', async () => {
  const ok = { modelJson: { a: 1 }, weights: bytes(4) };
  await rejects(writeArtifacts('indexeddb://m', ok), ArgumentError, 'IndexedDB');
  await rejects(readArtifacts('indexeddb://m'), ArgumentError, 'IndexedDB');
  await rejects(writeArtifacts('downloads://m', ok), ArgumentError, 'browser page');
  await rejects(readArtifacts('downloads://m'), ArgumentError, 'only be written');
  await rejects(writeArtifacts('https://example.com/model.json', ok), ArgumentError, 'read-only');
  await rejects(writeArtifacts('ftp://x/y', ok), ArgumentError, 'unsupported target');
  await rejects(writeArtifacts('indexeddb://', ok), ArgumentError, 'needs a name');
  for (const bad of [undefined, null, 42, '']) await rejects(readArtifacts(bad as never), ArgumentError, 'target must be');
  const dir = join(root, 'args');
  await rejects(writeArtifacts(dir, null as never), ArgumentError, 'artifacts must be');
  await rejects(writeArtifacts(dir, { modelJson: [1], weights: bytes(4) } as never), ArgumentError, 'modelJson must be a JSON object');
  await rejects(writeArtifacts(dir, { modelJson: { a: 1 }, weights: [1, 2] } as never), ArgumentError, 'weights must be an ArrayBuffer');
  await rejects(writeArtifacts(dir, { modelJson: { weightsPath: 'x' }, weights: bytes(4) }), ArgumentError, "'weightsPath'");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await rejects(writeArtifacts(dir, { modelJson: cyclic, weights: bytes(4) }), ArgumentError, 'not JSON-serialisable');
  await rejects(writeArtifacts(dir, { modelJson: { n: 1n } as never, weights: bytes(4) }), ArgumentError, 'not JSON-serialisable');
  assert.not.ok(existsSync(dir), 'nothing written for bad artifacts');
  // A file where the directory should be: an ArgumentError, and no temporary files left.
  writeFileSync(join(root, 'afile'), 'x');
  await rejects(writeArtifacts(join(root, 'afile'), ok), ArgumentError, 'cannot write');
});

test('http: model.json, then the weights beside it; 404 and truncation are typed errors', async () => {
  const dir = join(root, 'served');
  await writeArtifacts(dir, { modelJson: { served: true }, weights: bytes(5000) });
  let truncate = false;
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const m = /^\/models\/v1\/(model\.json|weights\.bin)$/.exec(req.url ?? '');
    if (!m) { res.writeHead(404).end('not found'); return; }
    let body: Uint8Array = readFileSync(join(dir, m[1]));
    if (truncate && m[1] === 'weights.bin') body = body.subarray(0, 4000);
    res.writeHead(200, { 'content-type': m[1].endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const back = await readArtifacts(`${origin}/models/v1/model.json`);
    assert.equal(back.modelJson, { served: true });
    assert.equal(new Uint8Array(back.weights), new Uint8Array(bytes(5000)));
    assert.equal(seen, ['/models/v1/model.json', '/models/v1/weights.bin']);
    const viaDir = await readArtifacts(new URL(`${origin}/models/v1/`));
    assert.is(viaDir.weights.byteLength, 5000);
    await rejects(readArtifacts(`${origin}/models/v2/model.json`), NotFoundError, 'HTTP 404');
    truncate = true;
    await rejects(readArtifacts(`${origin}/models/v1/model.json`), DataError, 'weights.bin', '4000 bytes', '5000', 'truncated');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  await rejects(readArtifacts(`${origin}/models/v1/model.json`), NotFoundError, 'could not be fetched');
});

test.run();
