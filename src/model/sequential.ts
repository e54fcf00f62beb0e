import { ArgumentError } from '../errors.js';
import { Layer } from '../layers/layer.js';
import { Model } from './model.js';
import { Graph } from './graph.js';
import { input, type SymbolicTensor } from './symbolic.js';

// Sequential: the one-chain case of the graph model. `add` applies the next layer to the last
// output and builds it; everything else (fit, predict, save, ...) is the Model's.

export interface SequentialOptions {
  /** Shape of one example, without the batch axis (e.g. [28, 28, 1]). */
  inputShape: number[];
  layers?: Layer[];
  name?: string;
  /** Seed of weight initialisation, shuffling and dropout masks (default 1). */
  seed?: number;
}

export class Sequential extends Model {
  constructor(options: SequentialOptions) {
    if (!options || typeof options !== 'object') throw new ArgumentError('sequential: options { inputShape, layers } are required');
    for (const k of Object.keys(options)) if (!['inputShape', 'layers', 'name', 'seed'].includes(k)) throw new ArgumentError(`sequential: unknown option '${k}'; accepted: inputShape, layers, name, seed`);
    if (options.layers !== undefined && !Array.isArray(options.layers)) throw new ArgumentError('sequential: layers must be an array of layers');
    const x = input({ shape: options.inputShape });
    super({ inputs: x, outputs: x, name: options.name, seed: options.seed }, 'sequential');
    for (const l of options.layers ?? []) {
      try {
        this.add(l);
      } catch (e) {
        // The model is never handed out: free what the layers built so far allocated.
        this.dispose();
        throw e;
      }
    }
  }

  /** Append a layer: applies it to the current output and builds it (errors name the layer). */
  add(layer: Layer): this {
    this.alive('add');
    if (!(layer instanceof Layer)) throw new ArgumentError(`sequential.add: expected a layer (from layers.*), got ${String(layer)}`);
    if (layer.owner) throw new ArgumentError(`sequential.add: ${layer.label} already belongs to a model; a layer object belongs to one model only`);
    if (layer.applications.length) throw new ArgumentError(`sequential.add: ${layer.label} was already applied in a functional graph`);
    const last = this.outputs[0];
    const unnamed = !layer.name;
    // Named now, so that shape errors name the layer as the model will.
    if (unnamed) layer.name = this.freeName(layer.type);
    let y: SymbolicTensor;
    try {
      y = layer.apply(last);
    } catch (e) {
      if (unnamed) layer.name = '';
      throw e;
    }
    const outputs = this.outputs as SymbolicTensor[];
    const graph = this.graph;
    outputs[0] = y;
    this.graph = new Graph(this.inputs, this.outputs, 'sequential');
    try {
      this.adopt([layer], 'sequential');
    } catch (e) {
      outputs[0] = last;
      this.graph = graph;
      layer.applications.pop();
      if (unnamed) layer.name = '';
      throw e;
    }
    this.invalidate();
    return this;
  }

  /** `type_n` with the smallest n not taken in this model. */
  private freeName(type: string): string {
    const taken = new Set(this.graph.layers.map((l) => l.name));
    let n = 1;
    while (taken.has(`${type}_${n}`)) n++;
    return `${type}_${n}`;
  }
}

/** `sequential({ inputShape, layers })`. */
export function sequential(options: SequentialOptions): Sequential {
  return new Sequential(options);
}
