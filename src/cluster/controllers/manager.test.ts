import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseControllers } from './manager.js';

test('--controllers: all, minus some, none, and unknown names', () => {
  assert.deepEqual([...parseControllers('*')].sort(), ['deployment', 'replicaset', 'scheduler']);
  assert.deepEqual([...parseControllers('*,-deployment')].sort(), ['replicaset', 'scheduler']);
  assert.deepEqual([...parseControllers('')], []);
  assert.deepEqual([...parseControllers('scheduler')], ['scheduler']);
  assert.throws(() => parseControllers('*,-nosuch'), /Unknown controller "nosuch"/);
});
