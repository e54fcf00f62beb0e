// Identity / Dropout removal: readers rewired, graph outputs keep their names, Dropout with a
// read mask stays.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeIdentity } from '../../src/io/onnx/passes/remove-identity.ts';
import { opCounts, node, graph, value, f32 } from './helpers.ts';

test('Identity and Dropout between nodes disappear and their readers read the source', () => {
  const g = graph([value('x', [1, 4])], [value('y', null)], [], [
    node('Relu', ['x'], ['a']),
    node('Identity', ['a'], ['b']),
    node('Dropout', ['b'], ['c'], { ratio: { float: 0.5 } }),
    node('Identity', ['c'], ['d']),
    node('Sigmoid', ['d'], ['y']),
  ]);
  assert.is(removeIdentity(g), 3);
  assert.equal(opCounts(g), { Relu: 1, Sigmoid: 1 });
  assert.equal(g.nodes[1].inputs, ['a']);
});

test('an Identity producing a graph output renames its producer; one on a graph input stays', () => {
  const g = graph([value('x', [1, 4])], [value('y', null)], [], [node('Relu', ['x'], ['a']), node('Identity', ['a'], ['y']), node('Tanh', ['a'], ['t'])]);
  g.outputs.push(value('t', null));
  assert.is(removeIdentity(g), 1);
  assert.equal(g.nodes.map((n) => [n.opType, n.inputs, n.outputs]), [['Relu', ['x'], ['y']], ['Tanh', ['y'], ['t']]]);
  const kept = graph([value('x', [1, 4])], [value('y', null)], [], [node('Identity', ['x'], ['y'])]);
  assert.is(removeIdentity(kept), 0);
  const fromInit = graph([value('x', [1, 4])], [value('y', null)], [f32('w', [1], [1])], [node('Identity', ['w'], ['y'])]);
  assert.is(removeIdentity(fromInit), 0);
});

test('a Dropout whose mask is read stays', () => {
  const g = graph([value('x', [1, 4])], [value('y', null), value('m', null)], [], [node('Dropout', ['x'], ['y', 'm'])]);
  assert.is(removeIdentity(g), 0);
});

test.run();
