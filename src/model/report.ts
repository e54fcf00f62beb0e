import { fmtShape } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import type { Graph } from './graph.js';
import type { SymbolicTensor } from './symbolic.js';

// What a model says about itself: the summary table and the activation bytes of a batch.

/** The summary: input shapes, then each layer's type, output shape, parameters (and, for graphs, what it reads). */
export function summaryTable(name: string, inputs: SymbolicTensor[], outputs: SymbolicTensor[], graph: Graph): string {
  const graphLike = graph.steps.some((s, i) => s.inputs.length !== 1 || s.inputs[0] !== (i === 0 ? 0 : graph.steps[i - 1].output)) || inputs.length > 1 || outputs.length > 1;
  const head = ['Layer (type)', 'Output shape', 'Params', ...(graphLike ? ['Reads from'] : [])];
  const valueName = (v: number) => (v < graph.inputCount ? inputs[v].name : graph.steps.find((s) => s.output === v)!.layer.name);
  const rows: string[][] = [head];
  inputs.forEach((s) => rows.push([`${s.name} (input)`, fmtShape(['batch', ...s.shape] as never), '0', ...(graphLike ? [''] : [])]));
  const counted = new Set<Layer>();
  for (const st of graph.steps) {
    const l = st.layer;
    const params = counted.has(l) ? '(shared)' : l.countParams().toLocaleString('en-US');
    counted.add(l);
    rows.push([`${l.name} (${l.type})`, fmtShape(['batch', ...graph.valueShapes[st.output]] as never), params, ...(graphLike ? [st.inputs.map(valueName).join(', ')] : [])]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const total = graph.layers.reduce((s, l) => s + l.countParams(), 0);
  const trainable = graph.layers.reduce((s, l) => s + (l.trainable ? l.params.reduce((a, p, i) => a + (l.paramTrainable[i] ? p.size : 0), 0) : 0), 0);
  return [
    `Model: ${name}`, rule, line(rows[0]), rule, ...rows.slice(1).map(line), rule,
    `Total params: ${total.toLocaleString('en-US')}`,
    `Trainable params: ${trainable.toLocaleString('en-US')}`,
    `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`, rule,
  ].join('\n');
}

/**
 * Activation bytes for a batch of n. Training: every value, what each step keeps, the targets and
 * the output gradients. Inference: the peak of live values when each is freed after its last reader.
 */
export function activationBytes(g: Graph, n: number, training: boolean, targetRowBytes: number): number {
  const bytes = (shape: number[]) => n * shape.reduce((a, b) => a * b, 1) * 4;
  if (training) {
    let total = n * targetRowBytes;
    for (const s of g.valueShapes) total += bytes(s);
    for (const st of g.steps) total += st.layer.cacheBytes(n);
    for (const v of g.outputValues) total += bytes(g.valueShapes[v]);
    return total;
  }
  const remaining = g.readers.slice();
  let live = g.valueShapes.slice(0, g.inputCount).reduce((s, v) => s + bytes(v), 0);
  let peak = live;
  for (const st of g.steps) {
    live += bytes(g.valueShapes[st.output]);
    peak = Math.max(peak, live);
    for (const i of st.inputs) if (--remaining[i] === 0) live -= bytes(g.valueShapes[i]);
  }
  return peak;
}
