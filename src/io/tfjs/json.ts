import { FormatError } from '../../errors.js';

// model.json is untrusted input: parsed (or, when given as an object, walked) once with bounds on
// size, depth and node count, `__proto__` keys refused, and read afterwards only through the typed
// getters below, whose errors name the field's path: `loadLayersModel: modelTopology.config.layers[3].config.filters: ...`.

export const OP = 'loadLayersModel';
const MAX_TEXT = 256 * 1024 * 1024;
const MAX_DEPTH = 64;
const MAX_NODES = 10_000_000;

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject { [key: string]: Json }

export function fail(path: string, message: string): never {
  throw new FormatError(`${OP}: ${path}: ${message}`);
}

/** model.json as text or as an already parsed object → a checked JSON value. */
export function readModelJson(modelJson: unknown): JsonObject {
  let value: unknown = modelJson;
  if (typeof modelJson === 'string') {
    if (modelJson.length > MAX_TEXT) fail('model.json', `${modelJson.length} characters is over the limit of ${MAX_TEXT}`);
    checkTextDepth(modelJson);
    try {
      value = JSON.parse(modelJson);
    } catch (e) {
      fail('model.json', `not JSON (${(e as Error).message.slice(0, 120)})`);
    }
  }
  checkTree(value);
  if (!isObject(value)) fail('model.json', `must be an object with modelTopology and weightsManifest, got ${kind(value)}`);
  return value;
}

/** Depth of brackets outside strings, before JSON.parse builds anything. */
function checkTextDepth(text: string): void {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_DEPTH) fail('model.json', `nested more than ${MAX_DEPTH} levels deep at character ${i}`);
    } else if (c === 125 || c === 93) depth--;
  }
}

/** Every node a plain JSON value, at most MAX_DEPTH deep, no `__proto__` keys (iterative: no stack to overflow). */
function checkTree(root: unknown): void {
  const stack: Array<[unknown, string, number]> = [[root, 'model.json', 0]];
  let nodes = 0;
  while (stack.length) {
    const [v, path, depth] = stack.pop()!;
    if (++nodes > MAX_NODES) fail('model.json', `more than ${MAX_NODES} values`);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(path, `${v} is not a JSON number`);
      continue;
    }
    if (typeof v !== 'object') fail(path, `${typeof v} is not a JSON value`);
    if (depth >= MAX_DEPTH) fail(path, `nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`, depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) fail(path, 'must be a plain object');
    for (const key of Object.keys(v)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') fail(`${path}.${key}`, `the key '${key}' is not allowed`);
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if (!('value' in d)) fail(`${path}.${key}`, 'accessor properties are not JSON');
      stack.push([d.value, `${path}.${key}`, depth + 1]);
    }
  }
}

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Own-property read (the tree has no `__proto__` keys, but `toString` and friends are inherited names). */
export function get(o: JsonObject, key: string): Json | undefined {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

export function object(path: string, v: unknown): JsonObject {
  if (!isObject(v)) fail(path, `must be an object, got ${kind(v)}`);
  return v;
}

export function array(path: string, v: unknown, max = 1_000_000): Json[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${kind(v)}`);
  if (v.length > max) fail(path, `has ${v.length} entries (limit ${max})`);
  return v;
}

export function string(path: string, v: unknown): string {
  if (typeof v !== 'string') fail(path, `must be a string, got ${kind(v)}`);
  return v;
}

export function integer(path: string, v: unknown, min = 0, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `must be an integer in [${min}, ${max}], got ${kind(v)}`);
  return v;
}

export function number(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a finite number, got ${kind(v)}`);
  return v;
}
