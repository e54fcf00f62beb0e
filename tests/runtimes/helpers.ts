// Shared by the runtime suites (deno, chromium, workerd): the golden smoke report computed in this
// Node process from the built bundle, the comparison of another runtime's report with it, native
// binaries from node_modules, free ports on 127.0.0.1, bounded child processes and a tiny static
// server. Everything listens on 127.0.0.1 only and every child is killed in a finally.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readSync, closeSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as assert from 'uvu/assert';

/** The repository root: the nearest directory up from the working directory with our package.json. */
export const ROOT: string = (() => {
  let dir = process.cwd();
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'simdcnn') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('tests/runtimes: run from inside the simdcnn repository');
    dir = up;
  }
})();

export const DIST = join(ROOT, 'dist');
export const RUNTIMES = join(ROOT, 'tests', 'runtimes');

/** What runSmoke (tests/runtimes/smoke.js) reports. */
export interface LenetPrediction { backend: string; shape: number[]; logits: number[][]; classes: number[]; ms: number }
export interface SmokeReport {
  runtime: string;
  ok: boolean;
  backend: string | null;
  initReturned?: string;
  backendBeforeInit?: string;
  errors: string[];
  results: {
    conv2dHand?: { ok: boolean; got: Array<number | string> };
    conv2dRandom?: { ok: boolean; maxErr: number };
    maxPoolIndices?: { ok: boolean; output: Array<number | string>; indices: number[] };
    lenet?: { ok: boolean; params: number } & LenetPrediction;
    train?: { ok: boolean; first: number; last: number };
    lenetTrain?: { ok: boolean; backend: string; losses: number[] };
    saveLoad?: { ok: boolean; maxDiff: number; weightsBytes: number };
  };
  lenetSimd?: LenetPrediction;
  leakedTensors?: number;
  initMs?: number;
  totalMs?: number;
}

export interface SmokeModule {
  runSmoke(lib: unknown, options?: { runtime?: string; init?: unknown; alsoSimd?: boolean }): Promise<SmokeReport>;
  fixedInputs(): Float32Array<ArrayBuffer>;
}

// Non-literal specifiers: esbuild (tests/run.mjs) leaves these imports alone, so the tests load the
// very dist/index.js the other runtimes load, not a bundled copy of the sources.
const load = (path: string): Promise<any> => import(pathToFileURL(path).href);

/** The smoke suite, and its report computed by Node on dist/index.js (the golden values). */
export async function golden(): Promise<{ smoke: SmokeModule; report: SmokeReport }> {
  if (!existsSync(join(DIST, 'index.js'))) throw new Error('dist/index.js is missing: run `node build.mjs` first');
  const smoke: SmokeModule = await load(join(RUNTIMES, 'smoke.js'));
  const lib = await load(join(DIST, 'index.js'));
  const report = await smoke.runSmoke(lib, { runtime: `node ${process.version}` });
  assert.ok(report.ok, `the Node golden run failed: ${report.errors.join('\n')}`);
  return { smoke, report };
}

/** Largest |a − b| over two logit tables of the same shape. */
export function maxDiff(a: number[][], b: number[][]): number {
  assert.is(a.length, b.length, 'batch size');
  let m = 0;
  a.forEach((row, i) => {
    assert.is(row.length, b[i].length, 'logits per example');
    row.forEach((v, j) => { m = Math.max(m, Math.abs(v - b[i][j])); });
  });
  return m;
}

/**
 * Compare a LeNet prediction with Node's. The same wasm build on the same engine family (V8) gives
 * the same float32 logits; a different build (relaxed SIMD fuses multiply-add) may differ in the
 * last bits, so the tolerance is 1e-6 for 'simd' against 'simd' and 1e-4 otherwise (logits are O(1)).
 */
export function assertLenet(got: LenetPrediction | undefined, want: LenetPrediction, label: string): string {
  assert.ok(got, `${label}: no LeNet prediction`);
  assert.equal(got.shape, [2, 10], `${label}: LeNet output shape`);
  const d = maxDiff(got.logits, want.logits);
  const same = got.backend === want.backend;
  const tol = same ? 1e-6 : 1e-4;
  assert.ok(d <= tol, `${label}: LeNet logits (${got.backend}) differ from Node's (${want.backend}) by ${d} > ${tol}`);
  assert.equal(got.classes, want.classes, `${label}: predicted classes`);
  return `${got.backend} vs node ${want.backend}: max |Δlogit| ${d === 0 ? '0 (bit-identical)' : d.toExponential(2)}, classes ${got.classes.join(',')}`;
}

/** LeNet-5 training losses against Node's: the same tolerance as the logits (1e-6 same build, 1e-4 otherwise). */
export function assertLosses(got: { ok: boolean; backend: string; losses: number[] } | undefined, want: { backend: string; losses: number[] }, label: string): string {
  assert.ok(got?.ok, `${label}: five LeNet-5 SGD steps lower the loss (${got?.losses?.join(', ')})`);
  assert.is(got.losses.length, want.losses.length, `${label}: number of training losses`);
  const d = Math.max(...got.losses.map((v, i) => Math.abs(v - want.losses[i])));
  const tol = got.backend === want.backend ? 1e-6 : 1e-4;
  assert.ok(d <= tol, `${label}: LeNet-5 training losses (${got.backend}) [${got.losses.join(', ')}] differ from Node's (${want.backend}) [${want.losses.join(', ')}] by ${d} > ${tol}`);
  return `train losses ${got.losses[0].toFixed(4)} → ${got.losses[got.losses.length - 1].toFixed(4)}, max |Δ| vs node ${d === 0 ? '0' : d.toExponential(2)}`;
}

/** Assert a runtime's smoke report against Node's; returns a one-line summary for the log. */
export function assertReport(report: SmokeReport, gold: SmokeReport, label: string, expectBackend: string): string {
  assert.ok(report && typeof report === 'object', `${label}: no report`);
  assert.equal(report.errors, [], `${label}: the smoke suite reported errors`);
  assert.ok(report.ok, `${label}: report not ok`);
  assert.is(report.backend, expectBackend, `${label}: backend()`);
  assert.is(report.initReturned, expectBackend, `${label}: init() resolves to the build`);
  assert.match(report.backendBeforeInit ?? '', /InitError/, `${label}: backend() before init throws InitError`);
  const r = report.results, g = gold.results;
  assert.equal(r.conv2dHand?.got, [37.5, 4, 47.5, 5, 67.5, 7, 77.5, 8], `${label}: conv2d by hand`);
  assert.ok(r.conv2dRandom?.ok && r.conv2dRandom.maxErr < 1e-4, `${label}: conv2d vs naive loops (max err ${r.conv2dRandom?.maxErr})`);
  assert.equal(r.maxPoolIndices?.output, g.maxPoolIndices?.output, `${label}: maxPool2d output`);
  assert.equal(r.maxPoolIndices?.indices, g.maxPoolIndices?.indices, `${label}: maxPool2d indices`);
  assert.ok(r.maxPoolIndices?.ok, `${label}: maxPool2d vs hand-computed winners`);
  assert.is(r.lenet?.params, 61706, `${label}: LeNet-5 parameter count`);
  assert.ok(r.train?.ok, `${label}: ten training steps lower the loss (${r.train?.first} → ${r.train?.last})`);
  assert.ok(r.saveLoad?.ok, `${label}: save() → loadModel() predicts the same (max |Δ| ${r.saveLoad?.maxDiff})`);
  assert.is(r.saveLoad?.weightsBytes, 61706 * 4, `${label}: saved weights bytes`);
  const lossLine = assertLosses(r.lenetTrain, g.lenetTrain!, label);
  assert.is(report.leakedTensors, 0, `${label}: tensors leaked`);
  let line = `${label}: ${assertLenet(r.lenet, g.lenet!, label)}; ${lossLine}; save/load exact`;
  if (report.lenetSimd) line += `; forced simd: ${assertLenet(report.lenetSimd, g.lenet!, `${label} (forced simd)`)}`;
  return line;
}

function isElf(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    closeSync(fd);
    return b.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
}

/**
 * The native executable of an npm-shipped tool, or null when it is not installed (.ci/run installs
 * deno and workerd with `npm install --no-save`; the suites then say they skipped).
 * `node_modules/.bin/<name>` is the binary itself when the package's install script ran; when npm
 * blocked it, .bin holds a Node shim that spawns the binary (killing the shim on a timeout would
 * orphan the tool), so take the platform package's binary.
 */
export function nativeBinary(name: string, platformPaths: string[]): string | null {
  const bin = join(ROOT, 'node_modules', '.bin', name);
  if (existsSync(bin) && isElf(realpathSync(bin))) return bin;
  for (const p of platformPaths) {
    const full = join(ROOT, 'node_modules', p);
    if (existsSync(full) && isElf(full)) return full;
  }
  return existsSync(bin) ? bin : null;
}

/** A free TCP port on 127.0.0.1 (the OS picks; released before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export interface Finished { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean; ms: number }

/** Run a command to completion, killing it (SIGKILL) after timeoutMs. */
export function run(cmd: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<Finished> {
  return new Promise((res) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutMs);
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** Stop a long-running child: SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
export function stop(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); res(); });
    child.kill('SIGTERM');
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/**
 * Serve files of the repository under the given URL prefixes (directories, ending in '/': '/dist/') on 127.0.0.1, a port
 * the OS picks. Anything else, and any path leaving its prefix, is a 404. `headers` are added to
 * every file served (e.g. COOP/COEP for cross-origin isolation). With `onPost`, POST
 * requests are answered 204 and their path and body handed to it.
 */
export function staticServer(prefixes: string[], options: { onPost?: (path: string, body: string) => void; headers?: Record<string, string> } = {}): Promise<{ server: Server; origin: string }> {
  const server = createHttpServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method === 'POST' && options.onPost) {
      // A page reporting back (tests/runtimes/firefox): the body as text, bounded.
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => { body += d; if (body.length > 8_000_000) req.destroy(); });
      req.on('end', () => { res.writeHead(204).end(); options.onPost!(path, body); });
      return;
    }
    const file = normalize(join(ROOT, path));
    const allowed = prefixes.some((p) => file.startsWith(join(ROOT, p)));
    if (req.method !== 'GET' || !allowed || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...options.headers });
    res.end(readFileSync(file));
  });
  return new Promise((res, rej) => {
    server.on('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      res({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

/** Reject after ms with a message (for races against a promise that may hang). */
export function deadline(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms); });
  return { promise, cancel: () => clearTimeout(timer) };
}
