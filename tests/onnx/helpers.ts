// Helpers for the ONNX importer's tests: the generated models and their PyTorch outputs
// (tests/golden/onnx/, written by tests/onnx/generate.py), and tiny IRs built by hand.
import { readFileSync } from 'node:fs';
import type { Attribute, Graph, Model, Node, Tensor, ValueInfo } from '../../src/io/onnx/ir.ts';
import { newModel } from '../../src/io/onnx/encode.ts';
import { seededRandom } from '../../src/layers/initializers.ts';

export const GOLDEN = 'tests/golden/onnx';
export const MODELS = ['lenet', 'residual', 'separable', 'inception', 'decoder', 'mbconv'] as const;
export type ModelName = typeof MODELS[number];

export interface GoldenMeta {
  opset: number;
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
  dynamicBatch: boolean;
  ops: string[];
}

export function modelBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${GOLDEN}/${name}.onnx`));
}

export function meta(name: string): GoldenMeta {
  return JSON.parse(readFileSync(`${GOLDEN}/${name}.json`, 'utf8')) as GoldenMeta;
}

export function floats(path: string): Float32Array {
  const b = readFileSync(path);
  const out = new Float32Array(b.length / 4);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let k = 0; k < out.length; k++) out[k] = v.getFloat32(4 * k, true);
  return out;
}

export function goldenIO(name: string): { input: Float32Array; output: Float32Array } {
  return { input: floats(`${GOLDEN}/${name}.input.bin`), output: floats(`${GOLDEN}/${name}.output.bin`) };
}

/** Count nodes per op type. */
export function opCounts(graph: Graph): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of graph.nodes) c[n.opType] = (c[n.opType] ?? 0) + 1;
  return c;
}

// ---- building tiny IRs by hand ----

type AttrValue = number | string | number[] | string[] | Tensor | { float: number } | { floats: number[] };

function toAttribute(v: AttrValue): Attribute {
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
    return { type: 'ints', value: v as number[] };
  }
  if ('float' in v) return { type: 'float', value: v.float };
  if ('floats' in v) return { type: 'floats', value: v.floats };
  return { type: 'tensor', value: v };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): Node {
  return {
    name: name ?? `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs,
    attributes: new Map(Object.entries(attrs).map(([k, v]) => [k, toAttribute(v)])),
  };
}

export function f32(name: string, dims: number[], data: ArrayLike<number>): Tensor {
  return { name, dims, dtype: 'float32', data: Float32Array.from(data) };
}

export function i64(name: string, dims: number[], data: number[]): Tensor {
  return { name, dims, dtype: 'int64', data: data.slice() };
}

export function value(name: string, shape: Array<number | string> | null, dtype: ValueInfo['dtype'] = 'float32'): ValueInfo {
  return { name, dtype, shape };
}

export function graph(inputs: ValueInfo[], outputs: ValueInfo[], initializers: Tensor[], nodes: Node[]): Graph {
  return { name: 'test', inputs, outputs, initializers: new Map(initializers.map((t) => [t.name, t])), nodes };
}

export function model(g: Graph, opset = 13): Model {
  return newModel(g, opset);
}

/** A deterministic pseudo-random float32 array in [-1, 1). */
export function randomFloats(seed: number, n: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}
