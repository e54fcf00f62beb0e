// Model artifacts out and in: a JSON description plus one weights buffer, stored as two files
// (`model.json` with "weightsPath" and "weightsBytes" added, and `weights.bin`) in a directory, at a
// URL, in IndexedDB or as two browser downloads. The model's save/load wrap these; they know
// nothing about layers. Node's file system is imported only when a file target is used (a
// non-literal specifier, so neither esbuild nor a browser bundler pulls it in), which keeps the
// bundle loadable in browsers and workers.
//
// A model file is untrusted input: model.json is parsed and checked (an object, a relative
// weightsPath without '..', weightsBytes a non-negative integer) before the weights are read, and
// the weights must hold exactly weightsBytes bytes.
import { ArgumentError, NotFoundError } from '../errors.js';
import { DataError } from '../data/idx.js';
import { importNode } from '../runtime/node.js';

/** What a model is stored as: a JSON-serialisable object and the bytes of its weights. */
export interface ModelArtifacts {
  modelJson: Record<string, unknown>;
  weights: ArrayBuffer;
}

/** The file names in a directory target. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

const INDEXEDDB_NAME = 'simdcnn';
const INDEXEDDB_STORE = 'models';
/** Object URLs of a download are revoked this long after the click (the browser must have started reading). */
const DOWNLOAD_REVOKE_MS = 10_000;

type Target =
  | { kind: 'file'; dir: string; json: string | null }
  | { kind: 'http'; url: string }
  | { kind: 'indexeddb'; name: string }
  | { kind: 'downloads'; name: string };

/**
 * Write a model's artifacts to `target`:
 * - a directory (a path string or a `file://` URL; Node, Deno, Bun): writes `model.json` and
 *   `weights.bin` there, creating the directory; each file is written to a temporary name and
 *   renamed, weights first, so a reader never sees a half-written pair;
 * - `'indexeddb://name'` (browsers): one record in the object store `models` of the database `simdcnn`;
 * - `'downloads://name'` (browsers): the user downloads `name.json` and `name.weights.bin`.
 * `http(s)://` targets are read-only. Public: useful alone to store any JSON + weights pair; the
 * model's `save(target)` is built on it.
 */
export async function writeArtifacts(target: string | URL, artifacts: ModelArtifacts): Promise<void> {
  const t = parseTarget('writeArtifacts', target);
  const { modelJson, weights } = checkArtifacts(artifacts);
  const weightsPath = t.kind === 'downloads' ? `${t.name}.weights.bin` : WEIGHTS_BIN;
  let text: string;
  try {
    text = JSON.stringify({ ...modelJson, weightsPath, weightsBytes: weights.byteLength });
  } catch (e) {
    throw new ArgumentError(`writeArtifacts: artifacts.modelJson is not JSON-serialisable (${(e as Error)?.message})`);
  }
  switch (t.kind) {
    case 'file': return writeFiles(t.dir, text, weights);
    case 'indexeddb': return idbPut(t.name, JSON.parse(text) as Record<string, unknown>, weights);
    case 'downloads': return download(t.name, text, weights);
    case 'http': throw new ArgumentError(`writeArtifacts: ${t.url} is read-only here (http(s) URLs can be read; upload the two files with your own request)`);
  }
}

/**
 * Read a model's artifacts from `source`: a directory or its model.json (path or `file://` URL),
 * `'indexeddb://name'`, or an `http(s)://…/model.json` URL (the weights are fetched from the
 * weightsPath model.json names, relative to model.json's URL). Returns modelJson without the
 * weightsPath and weightsBytes keys writeArtifacts added. Errors: NotFoundError (no such file,
 * record or URL), DataError (not JSON, missing fields, weights shorter or longer than model.json
 * says), ArgumentError (a target this runtime cannot use).
 */
export async function readArtifacts(source: string | URL): Promise<ModelArtifacts> {
  const t = parseTarget('readArtifacts', source);
  switch (t.kind) {
    case 'file': return readFiles(t.dir, t.json);
    case 'http': return readHttp(t.url);
    case 'indexeddb': return idbGet(t.name);
    case 'downloads': throw new ArgumentError(`readArtifacts: 'downloads://${t.name}' can only be written; read the downloaded files from a URL, or pass their contents to loadModel`);
  }
}

// ---- targets and checks ----

function parseTarget(op: string, target: unknown): Target {
  const s = target instanceof URL ? target.href : target;
  if (typeof s !== 'string' || s === '') throw new ArgumentError(`${op}: target must be a non-empty string or URL, got ${describe(target)}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1]?.toLowerCase();
  if (scheme === 'indexeddb' || scheme === 'downloads') {
    const name = s.slice(scheme.length + 3);
    if (!name) throw new ArgumentError(`${op}: '${s}' needs a name: '${scheme}://my-model'`);
    return { kind: scheme, name };
  }
  if (scheme === 'http' || scheme === 'https') {
    return { kind: 'http', url: s.endsWith('/') ? `${s}${MODEL_JSON}` : s };
  }
  let path = s;
  if (scheme === 'file') {
    const url = new URL(s);
    if (url.host && url.host !== 'localhost') throw new ArgumentError(`${op}: file URLs on other hosts are not supported: ${s}`);
    path = decodeURIComponent(url.pathname);
  } else if (scheme !== undefined) {
    throw new ArgumentError(`${op}: unsupported target '${s}' (use a directory path, file://, indexeddb://, downloads:// or http(s)://)`);
  }
  const isJson = /\.json$/i.test(path);
  const dir = isJson ? path.replace(/[/\\][^/\\]*$/, '') || '.' : path;
  return { kind: 'file', dir, json: isJson ? path : null };
}

function checkArtifacts(a: unknown): { modelJson: Record<string, unknown>; weights: ArrayBuffer } {
  if (a === null || typeof a !== 'object') throw new ArgumentError(`writeArtifacts: artifacts must be { modelJson, weights }, got ${describe(a)}`);
  const { modelJson, weights } = a as { modelJson?: unknown; weights?: unknown };
  if (modelJson === null || typeof modelJson !== 'object' || Array.isArray(modelJson)) {
    throw new ArgumentError(`writeArtifacts: artifacts.modelJson must be a JSON object, got ${describe(modelJson)}`);
  }
  for (const k of ['weightsPath', 'weightsBytes']) {
    if (k in modelJson) throw new ArgumentError(`writeArtifacts: artifacts.modelJson must not have '${k}' (writeArtifacts adds it)`);
  }
  let buffer: ArrayBuffer;
  if (weights instanceof ArrayBuffer) buffer = weights;
  else if (ArrayBuffer.isView(weights)) buffer = new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength).slice().buffer as ArrayBuffer;
  else throw new ArgumentError(`writeArtifacts: artifacts.weights must be an ArrayBuffer, got ${describe(weights)}`);
  return { modelJson: modelJson as Record<string, unknown>, weights: buffer };
}

/** Parse and check model.json's text; where names the file for messages. */
function parseModelJson(text: string, where: string): { modelJson: Record<string, unknown>; weightsPath: string; weightsBytes: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DataError(`readArtifacts: ${where} is not JSON (${(e as Error)?.message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DataError(`readArtifacts: ${where} must hold a JSON object, got ${describe(parsed)}`);
  // Files written before weightsPath/weightsBytes existed (the MNIST CLI's, the first release's)
  // hold their weights in weights.bin beside model.json; their length is then checked by the loader.
  const { weightsPath = WEIGHTS_BIN, weightsBytes, ...modelJson } = parsed as Record<string, unknown>;
  if (typeof weightsPath !== 'string' || weightsPath === '' || /^[a-z][a-z0-9+.-]*:|^[/\\]/i.test(weightsPath) || weightsPath.split(/[/\\]/).includes('..')) {
    throw new DataError(`readArtifacts: ${where}: "weightsPath" must be a relative file name beside it, got ${JSON.stringify(weightsPath)}`);
  }
  if (weightsBytes !== undefined && (!Number.isSafeInteger(weightsBytes) || (weightsBytes as number) < 0)) {
    throw new DataError(`readArtifacts: ${where}: "weightsBytes" must be a non-negative integer, got ${JSON.stringify(weightsBytes)}`);
  }
  return { modelJson, weightsPath, weightsBytes: (weightsBytes as number | undefined) ?? -1 };
}

function checkLength(weights: ArrayBuffer, want: number, where: string): ArrayBuffer {
  if (want >= 0 && weights.byteLength !== want) {
    throw new DataError(`readArtifacts: ${where} holds ${weights.byteLength} bytes but model.json says ${want} (${weights.byteLength < want ? 'truncated' : 'too long'})`);
  }
  return weights;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

// ---- files (Node, Deno, Bun) ----

interface Fs {
  mkdir(path: string, o: { recursive: boolean }): Promise<unknown>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, o: { force: boolean }): Promise<void>;
}

async function fs(op: string): Promise<Fs> {
  try {
    return await importNode<Fs>('fs/promises');
  } catch (e) {
    throw new ArgumentError(`${op}: file paths need a runtime with a file system (Node, Deno, Bun); this one has none (${(e as Error)?.message}). Use 'indexeddb://', 'downloads://' or an http(s) URL`);
  }
}

const join = (dir: string, name: string): string => (/[/\\]$/.test(dir) ? dir + name : `${dir}/${name}`);

async function writeFiles(dir: string, text: string, weights: ArrayBuffer): Promise<void> {
  const f = await fs('writeArtifacts');
  const tag = `.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const pairs: Array<[string, string | Uint8Array]> = [[WEIGHTS_BIN, new Uint8Array(weights)], [MODEL_JSON, text]];
  try {
    await f.mkdir(dir, { recursive: true });
    for (const [name, data] of pairs) await f.writeFile(join(dir, name + tag), data);
    for (const [name] of pairs) await f.rename(join(dir, name + tag), join(dir, name));
  } catch (e) {
    for (const [name] of pairs) await f.rm(join(dir, name + tag), { force: true }).catch(() => undefined);
    throw new ArgumentError(`writeArtifacts: cannot write to ${dir} (${(e as Error)?.message})`);
  }
}

async function readFile(f: Fs, path: string): Promise<Uint8Array> {
  try {
    return await f.readFile(path);
  } catch (e) {
    const code = (e as { code?: string })?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || (e as Error)?.name === 'NotFound') throw new NotFoundError(`readArtifacts: ${path} does not exist`);
    throw new DataError(`readArtifacts: cannot read ${path} (${(e as Error)?.message})`);
  }
}

async function readFiles(dir: string, json: string | null): Promise<ModelArtifacts> {
  const f = await fs('readArtifacts');
  const jsonPath = json ?? join(dir, MODEL_JSON);
  const text = new TextDecoder().decode(await readFile(f, jsonPath));
  const { modelJson, weightsPath, weightsBytes } = parseModelJson(text, jsonPath);
  const weightsFile = join(dir, weightsPath);
  const bytes = await readFile(f, weightsFile);
  const weights = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { modelJson, weights: checkLength(weights, weightsBytes, weightsFile) };
}

// ---- http(s) ----

async function fetchOk(url: string): Promise<Response> {
  if (typeof fetch !== 'function') throw new ArgumentError(`readArtifacts: this runtime has no fetch() to read ${url}`);
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new NotFoundError(`readArtifacts: ${url} could not be fetched (${(e as Error)?.message})`);
  }
  if (r.status === 404 || r.status === 410) throw new NotFoundError(`readArtifacts: ${url} was not found (HTTP ${r.status})`);
  if (!r.ok) throw new DataError(`readArtifacts: ${url} answered HTTP ${r.status} ${r.statusText}`);
  return r;
}

async function readHttp(url: string): Promise<ModelArtifacts> {
  const text = await (await fetchOk(url)).text();
  const { modelJson, weightsPath, weightsBytes } = parseModelJson(text, url);
  const weightsUrl = new URL(weightsPath, url).href;
  const weights = await (await fetchOk(weightsUrl)).arrayBuffer();
  return { modelJson, weights: checkLength(weights, weightsBytes, weightsUrl) };
}

// ---- IndexedDB (browsers) ----

function openDb(op: string): Promise<IDBDatabase> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) throw new ArgumentError(`${op}: 'indexeddb://' needs IndexedDB, which this runtime does not have (browsers and their workers do)`);
  return new Promise((res, rej) => {
    const req = idb.open(INDEXEDDB_NAME, 1);
    req.onupgradeneeded = () => { req.result.createObjectStore(INDEXEDDB_STORE); };
    req.onsuccess = () => res(req.result);
    req.onerror = () => rej(new ArgumentError(`${op}: cannot open IndexedDB '${INDEXEDDB_NAME}' (${req.error?.message})`));
    req.onblocked = () => rej(new ArgumentError(`${op}: IndexedDB '${INDEXEDDB_NAME}' is blocked by another tab`));
  });
}

/** One record per model, written in one transaction: both parts or neither. */
async function idbPut(name: string, modelJson: Record<string, unknown>, weights: ArrayBuffer): Promise<void> {
  const db = await openDb('writeArtifacts');
  try {
    await new Promise<void>((res, rej) => {
      const tx = db.transaction(INDEXEDDB_STORE, 'readwrite');
      tx.objectStore(INDEXEDDB_STORE).put({ modelJson, weights }, name);
      tx.oncomplete = () => res();
      tx.onerror = tx.onabort = () => rej(new ArgumentError(`writeArtifacts: IndexedDB write of '${name}' failed (${tx.error?.message})`));
    });
  } finally {
    db.close();
  }
}

async function idbGet(name: string): Promise<ModelArtifacts> {
  const db = await openDb('readArtifacts');
  let record: unknown;
  try {
    record = await new Promise((res, rej) => {
      const req = db.transaction(INDEXEDDB_STORE, 'readonly').objectStore(INDEXEDDB_STORE).get(name);
      req.onsuccess = () => res(req.result);
      req.onerror = () => rej(new DataError(`readArtifacts: IndexedDB read of '${name}' failed (${req.error?.message})`));
    });
  } finally {
    db.close();
  }
  const where = `indexeddb://${name}`;
  if (record === undefined) throw new NotFoundError(`readArtifacts: ${where} does not exist`);
  const r = record as { modelJson?: unknown; weights?: unknown };
  if (!(r?.weights instanceof ArrayBuffer)) throw new DataError(`readArtifacts: ${where} is not a simdcnn record (no weights ArrayBuffer)`);
  const { modelJson, weightsBytes } = parseModelJson(JSON.stringify(r.modelJson ?? null), where);
  return { modelJson, weights: checkLength(r.weights, weightsBytes, where) };
}

// ---- downloads (browsers) ----

function download(name: string, text: string, weights: ArrayBuffer): void {
  const g = globalThis as { document?: Document; URL: typeof URL; Blob?: typeof Blob };
  if (!g.document?.createElement || typeof g.URL.createObjectURL !== 'function' || !g.Blob) {
    throw new ArgumentError(`writeArtifacts: 'downloads://' needs a browser page (document, Blob, URL.createObjectURL); this runtime has none`);
  }
  const files: Array<[string, Blob]> = [
    [`${name}.json`, new g.Blob([text], { type: 'application/json' })],
    [`${name}.weights.bin`, new g.Blob([weights], { type: 'application/octet-stream' })],
  ];
  for (const [file, blob] of files) {
    const url = g.URL.createObjectURL(blob);
    const a = g.document.createElement('a');
    a.href = url;
    a.download = file;
    a.style.display = 'none';
    g.document.body?.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => g.URL.revokeObjectURL(url), DOWNLOAD_REVOKE_MS);
  }
}
