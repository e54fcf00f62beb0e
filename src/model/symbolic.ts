import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { Layer, setApply } from '../layers/layer.js';

// The functional API's symbolic tensors: `input({ shape })` makes one, `layer.apply(x)` makes the
// next. Each symbolic tensor is one node of the graph: the layer that produced it and the symbolic
// tensors it read. No memory is allocated here; a model built from the graph creates the weights.

let nextId = 1;

export class SymbolicTensor {
  /** Unique per symbolic tensor; orders the graph deterministically. @internal */
  readonly id = nextId++;
  constructor(
    /** Shape of one example (no batch axis). */
    readonly shape: readonly number[],
    /** The layer that computes it, or null for a model input. */
    readonly layer: Layer | null,
    /** What the layer read (empty for an input). */
    readonly inputs: readonly SymbolicTensor[],
    /** The input's name (given, or `input_k` from the model that reads it). */
    public inputName: string | null = null,
  ) {}

  get name(): string {
    return this.layer ? this.layer.name || `layers.${this.layer.type}` : this.inputName ?? 'input';
  }

  toString(): string {
    return `SymbolicTensor(${this.name} ${fmtShape(['batch', ...this.shape] as never)})`;
  }
}

export interface InputOptions {
  /** Shape of one example, without the batch axis (e.g. [224, 224, 3]). */
  shape: number[];
  name?: string;
}

const MAX_RANK = 6;
const MAX_ELEMENTS = 2 ** 31;

/** A model input: `const x = input({ shape: [28, 28, 1] })`. */
export function input(options: InputOptions): SymbolicTensor {
  if (!options || typeof options !== 'object') throw new ArgumentError(`input: options { shape } are required, got ${String(options)}`);
  for (const k of Object.keys(options)) if (k !== 'shape' && k !== 'name') throw new ArgumentError(`input: unknown option '${k}'; accepted: shape, name`);
  const shape = checkExampleShape('input', options.shape);
  const name = options.name;
  if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z0-9_.\-/]{1,128}$/.test(name))) {
    throw new ArgumentError(`input: name must be 1–128 letters, digits, '_', '.', '-' or '/', got ${JSON.stringify(name)}`);
  }
  return new SymbolicTensor(shape, null, [], name ?? null);
}

/** A shape of one example: 1–6 positive integers, fewer than 2^31 elements. */
export function checkExampleShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_RANK || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ArgumentError(`${op}: shape must be 1 to ${MAX_RANK} positive integers (one example, no batch axis), got ${JSON.stringify(shape)?.slice(0, 80)}`);
  }
  if (shape.reduce((a: number, b: number) => a * b, 1) >= MAX_ELEMENTS) throw new ShapeError(`${op}: shape ${fmtShape(shape)} has 2^31 or more elements`);
  return shape.slice();
}

setApply((layer: Layer, inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor => {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  list.forEach((s, i) => {
    if (!(s instanceof SymbolicTensor)) {
      throw new ArgumentError(`${layer.label}.apply: input ${i} must be a symbolic tensor (from input() or another layer's apply), got ${s && typeof s === 'object' && 'shape' in s ? 'a Tensor (call model.predict for data)' : String(s)}`);
    }
  });
  if (layer.owner) throw new ArgumentError(`${layer.label}.apply: the layer already belongs to a model; a layer object belongs to one model only`);
  const shapes = list.map((s) => s.shape.slice());
  const out = layer.outputShapeFor(shapes);
  if (layer.applications.length) {
    // A shared layer reuses its weights: they must fit the new inputs too.
    const first = layer.applications[0].inputs.map((s) => s.shape.slice());
    const a = JSON.stringify(layer.paramSpecs(first).map((p) => p.shape));
    const b = JSON.stringify(layer.paramSpecs(shapes).map((p) => p.shape));
    if (a !== b) throw layer.shapeError(`applied again to inputs ${shapes.map((s) => fmtShape(s)).join(', ')} whose weights ${b} differ from the first application's ${a}`);
  }
  const sym = new SymbolicTensor(out, layer, list.slice());
  layer.applications.push(sym);
  return sym;
});
