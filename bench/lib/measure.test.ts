import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interleave, percentile, summarise } from './measure.js';

test('percentiles by nearest rank', () => {
  const v = [5, 1, 4, 2, 3];
  assert.equal(percentile(v, 50), 3);
  assert.equal(percentile(v, 99), 5);
  assert.equal(percentile(v, 0), 1);
  assert.equal(summarise(v).mean, 3);
});

test('interleave runs the functions in turn and drops the warm-up rounds', () => {
  const order: string[] = [];
  let n = 0;
  const fn = (name: string) => () => {
    order.push(name);
    return n++;
  };
  const [a, b] = interleave(2, 1, [fn('a'), fn('b')]);
  assert.deepEqual(order, ['a', 'b', 'a', 'b', 'a', 'b']);
  assert.deepEqual(a, [2, 4]);
  assert.deepEqual(b, [3, 5]);
});
