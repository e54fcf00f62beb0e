import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { clone, type Tensor } from '../tensor.js';
import { addN } from '../ops/arithmetic.js';
import { Context, type Layer } from '../layers/layer.js';
import { SymbolicTensor } from './symbolic.js';

// The executable form of a model: its symbolic graph in topological order. Values are numbered:
// the model inputs first, then one per step (a layer application). Forward frees each value as
// soon as its last reader is done (inference) or keeps everything with one Context per step
// (training); backward walks the steps in reverse, summing gradients where a value fed several
// steps and where a shared layer was applied more than once.

export interface Step {
  layer: Layer;
  /** Value numbers read, in the layer's input order. */
  inputs: number[];
  /** Value number written. */
  output: number;
  node: SymbolicTensor;
}

export class Graph {
  readonly steps: Step[] = [];
  /** Value number of each model output. */
  readonly outputValues: number[];
  /** Layers in order of first use. */
  readonly layers: Layer[] = [];
  /** How many readers each value has (steps reading it, plus model outputs). */
  readonly readers: number[];
  readonly valueShapes: number[][];

  constructor(readonly inputs: SymbolicTensor[], readonly outputs: SymbolicTensor[], op: string) {
    const index = new Map<SymbolicTensor, number>();
    inputs.forEach((s, i) => {
      if (s.layer) throw new ArgumentError(`${op}: inputs[${i}] must come from input(), got the output of ${s.layer.label}`);
      if (index.has(s)) throw new ArgumentError(`${op}: inputs[${i}] is listed twice`);
      index.set(s, i);
    });
    this.valueShapes = inputs.map((s) => s.shape.slice());
    // Depth-first from the outputs, iteratively (graphs can be thousands of layers deep).
    const visiting = new Set<SymbolicTensor>();
    for (const out of outputs) {
      const stack: Array<[SymbolicTensor, number]> = [[out, 0]];
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [s, next] = top;
        if (index.has(s)) { stack.pop(); continue; }
        if (!s.layer) throw new ArgumentError(`${op}: the outputs depend on input ${s.toString()}, which is not in inputs`);
        if (next < s.inputs.length) {
          top[1]++;
          const child = s.inputs[next];
          if (visiting.has(child)) throw new ArgumentError(`${op}: the graph has a cycle at ${child.toString()}`);
          if (!index.has(child)) { visiting.add(child); stack.push([child, 0]); }
          continue;
        }
        stack.pop();
        visiting.delete(s);
        const v = this.valueShapes.length;
        index.set(s, v);
        this.valueShapes.push(s.shape.slice());
        this.steps.push({ layer: s.layer, inputs: s.inputs.map((i) => index.get(i)!), output: v, node: s });
        if (!this.layers.includes(s.layer)) this.layers.push(s.layer);
      }
    }
    this.outputValues = outputs.map((o) => index.get(o)!);
    this.readers = new Array(this.valueShapes.length).fill(0);
    for (const st of this.steps) for (const i of st.inputs) this.readers[i]++;
    for (const o of this.outputValues) this.readers[o]++;
  }

  get inputCount(): number { return this.inputs.length; }

  /**
   * Run the graph on a batch. Inference frees intermediate values as soon as they are read for the
   * last time; training keeps every value and returns the contexts for backward. On an error every
   * tensor this call allocated is freed.
   */
  forward(xs: Tensor[], training: boolean, random: () => number, run?: (step: Step, inputs: Tensor[], ctx: Context) => Tensor): { outputs: Tensor[]; values: Array<Tensor | null>; contexts: Context[] } {
    const values: Array<Tensor | null> = new Array(this.valueShapes.length).fill(null);
    xs.forEach((x, i) => { values[i] = x; });
    const remaining = this.readers.slice();
    const contexts: Context[] = [];
    const owned = new Set<Tensor>();
    // How many values hold each tensor: an inference plan may have several steps write one tensor
    // (the branches of a concatenation, each its slice), freed when the last of them is.
    const held = new Map<Tensor, number>();
    const drop = (t: Tensor): boolean => {
      const n = (held.get(t) ?? 1) - 1;
      if (n > 0) held.set(t, n);
      else held.delete(t);
      return n <= 0;
    };
    try {
      for (const step of this.steps) {
        const ins = step.inputs.map((i) => values[i]!);
        const ctx = new Context(training, random);
        contexts.push(ctx);
        let y = run ? run(step, ins, ctx) : step.layer.forward(ins, ctx);
        const j = ins.indexOf(y);
        if (j >= 0) {
          // A step that hands its input on: the tensor moves when this was its last reader.
          const v = step.inputs[j];
          if (!training && v >= this.inputCount && remaining[v] === 1 && step.inputs.indexOf(v) === step.inputs.lastIndexOf(v)) {
            remaining[v] = 0;
            values[v] = null;
            drop(y);
          } else {
            y = clone(y);
          }
        }
        owned.add(y);
        values[step.output] = y;
        held.set(y, (held.get(y) ?? 0) + 1);
        if (training) {
          ctx.inputs = ins;
          ctx.output = y;
        } else {
          ctx.dispose();
          for (const i of step.inputs) {
            if (remaining[i] > 0 && --remaining[i] === 0 && i >= this.inputCount) {
              if (drop(values[i]!)) {
                values[i]!.dispose();
                owned.delete(values[i]!);
              }
              values[i] = null;
            }
          }
        }
      }
      // A model output that is a model input (or the same value twice) gets its own copy.
      const seen = new Set<Tensor>();
      const outputs = this.outputValues.map((v) => {
        let t = values[v]!;
        if (v < this.inputCount || seen.has(t)) { t = clone(t); owned.add(t); }
        seen.add(t);
        return t;
      });
      return { outputs, values, contexts };
    } catch (e) {
      for (const c of contexts) c.dispose();
      for (const t of owned) t.dispose();
      throw e;
    }
  }

  /**
   * Backward from the gradients of the outputs (consumed: disposed here). Returns the summed
   * gradients of every trainable parameter, per layer (owned by the caller).
   */
  backward(contexts: Context[], outputGrads: Tensor[], needInputGrads = false): { paramGrads: Map<Layer, Tensor[]>; inputGrads: Array<Tensor | null> } {
    const grads: Array<Tensor[] | null> = new Array(this.valueShapes.length).fill(null);
    const paramGrads = new Map<Layer, Tensor[]>();
    const pending: Tensor[] = [];
    const take = (v: number): Tensor | null => {
      const list = grads[v];
      if (!list) return null;
      grads[v] = null;
      if (list.length === 1) return list[0];
      const sum = addN(list);
      for (const t of list) t.dispose();
      return sum;
    };
    try {
      this.outputValues.forEach((v, i) => { (grads[v] ??= []).push(outputGrads[i]); });
      outputGrads = [];
      const needs = this.needsGradient(needInputGrads);
      for (let s = this.steps.length - 1; s >= 0; s--) {
        const step = this.steps[s];
        const dy = take(step.output);
        if (!dy) continue;
        pending.push(dy);
        const needDx = step.inputs.map((i) => needs[i]);
        const { dxs, grads: g } = step.layer.backward(dy, contexts[s], needDx);
        pending.pop();
        dy.dispose();
        dxs.forEach((dx, i) => {
          if (!dx) return;
          if (!needDx[i]) { dx.dispose(); return; }
          (grads[step.inputs[i]] ??= []).push(dx);
        });
        if (g.length) {
          const prev = paramGrads.get(step.layer);
          if (!prev) paramGrads.set(step.layer, g);
          else {
            paramGrads.set(step.layer, prev.map((p, i) => { const sum = addN([p, g[i]]); p.dispose(); g[i].dispose(); return sum; }));
          }
        }
      }
      const inputGrads = this.inputs.map((_, i) => take(i));
      return { paramGrads, inputGrads };
    } catch (e) {
      for (const list of grads) if (list) for (const t of list) t.dispose();
      for (const t of pending) t.dispose();
      for (const t of outputGrads) t.dispose();
      for (const list of paramGrads.values()) for (const t of list) t.dispose();
      throw e;
    }
  }

  /** Which values need a gradient: those downstream of a trainable parameter's layer or of a wanted input. */
  private needsGradient(inputs: boolean): boolean[] {
    const need = new Array(this.valueShapes.length).fill(false);
    for (let i = 0; i < this.inputCount; i++) need[i] = inputs;
    // A value needs a gradient when something upstream of its reader has parameters to train:
    // compute "upstream has parameters" forward.
    const upstream = new Array(this.valueShapes.length).fill(inputs);
    for (const st of this.steps) {
      const hasParams = st.layer.trainable && st.layer.paramTrainable.some((t) => t);
      upstream[st.output] = hasParams || st.inputs.some((i) => upstream[i]);
    }
    for (let v = this.inputCount; v < need.length; v++) need[v] = upstream[v];
    return need;
  }

  /** Check a batch of inputs against the model's input shapes. */
  checkInputs(op: string, xs: unknown): Tensor[] {
    const list = Array.isArray(xs) ? xs : [xs];
    if (list.length !== this.inputCount) throw new ArgumentError(`${op}: the model has ${this.inputCount} input${this.inputCount > 1 ? 's' : ''}, got ${list.length}`);
    let N = -1;
    return list.map((x, i) => {
      const what = this.inputCount > 1 ? `x[${i}]` : 'x';
      if (!x || typeof (x as Tensor).check !== 'function') throw new ArgumentError(`${op}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
      const t = x as Tensor;
      t.check(op, what);
      const want = this.inputs[i].shape;
      if (t.rank !== want.length + 1 || t.shape.slice(1).some((d, k) => d !== want[k])) {
        throw new ShapeError(`${op}: ${what} must be [N, ${want.join(', ')}] for this model, got ${fmtShape(t.shape)}`);
      }
      if (t.dtype !== 'float32') throw new ShapeError(`${op}: ${what} must be float32, got ${t.dtype}`);
      if (N >= 0 && t.shape[0] !== N) throw new ShapeError(`${op}: every input needs the same batch size, ${what} has ${t.shape[0]}, x[0] has ${N}`);
      N = t.shape[0];
      return t;
    });
  }

  /** Check targets: one per output, each a live tensor with the inputs' batch size. */
  checkTargets(op: string, xs: Tensor[], y: unknown): Tensor[] {
    const list = Array.isArray(y) ? y : [y];
    if (list.length !== this.outputs.length) throw new ArgumentError(`${op}: the model has ${this.outputs.length} output(s), got ${list.length} target tensor(s)`);
    return list.map((t, i) => {
      const what = this.outputs.length > 1 ? `y[${i}]` : 'y';
      if (!t || typeof (t as Tensor).check !== 'function') throw new ArgumentError(`${op}: ${what} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
      (t as Tensor).check(op, what);
      if ((t as Tensor).shape[0] !== xs[0].shape[0]) throw new ShapeError(`${op}: ${what} must have the same batch size as x (${xs[0].shape[0]}), got ${fmtShape((t as Tensor).shape)}`);
      return t as Tensor;
    });
  }
}
