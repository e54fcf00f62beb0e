// Remove Identity and inference-mode Dropout: readers of the node's output read its input instead.
// When the output is a graph output, the producer of the input is renamed to produce it (if the
// input is itself a graph input, an initializer or another graph output, the node stays: the graph
// must keep both names). A Dropout whose mask output is read, or whose training_mode input is not a
// known false, is left alone.
import { readers, type Graph, type Node } from '../ir.js';

function removable(graph: Graph, node: Node, read: Map<string, Node[]>, outputs: Set<string>): boolean {
  if (node.domain) return false;
  if (node.opType === 'Identity') return node.outputs.length === 1;
  if (node.opType !== 'Dropout') return false;
  const mask = node.outputs[1];
  if (mask && (read.has(mask) || outputs.has(mask))) return false;
  const training = node.inputs[2];
  if (training) {
    const t = graph.initializers.get(training);
    if (!t || t.data.length !== 1 || t.data[0] !== 0) return false;
  }
  return true;
}

/** Remove Identity and Dropout nodes in place; returns how many were removed. O(nodes + edges). */
export function removeIdentity(graph: Graph): number {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const inputs = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  const read = readers(graph);
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const gone = new Set<Node>();
  const rename = (from: string, to: string): void => {
    const list = read.get(from) ?? [];
    for (const r of list) r.inputs = r.inputs.map((i) => (i === from ? to : i));
    read.delete(from);
    const target = read.get(to);
    if (target) target.push(...list);
    else read.set(to, list);
  };
  for (const node of graph.nodes) {
    if (!removable(graph, node, read, outputs)) continue;
    const src = node.inputs[0], dst = node.outputs[0];
    // The node no longer reads src.
    read.set(src, (read.get(src) ?? []).filter((r) => r !== node));
    if (outputs.has(dst)) {
      if (inputs.has(src) || outputs.has(src)) {
        read.get(src)!.push(node);
        continue;
      }
      // The producer now writes the graph output's name directly.
      const p = producer.get(src)!;
      p.outputs[p.outputs.indexOf(src)] = dst;
      producer.set(dst, p);
      rename(src, dst);
    } else {
      rename(dst, src);
    }
    gone.add(node);
  }
  graph.nodes = graph.nodes.filter((n) => !gone.has(n));
  return gone.size;
}
