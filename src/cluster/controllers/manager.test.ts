import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controllerNames, parseControllers } from './manager.js';

test('--controllers: all, minus some, none, and unknown names', () => {
  assert.deepEqual([...parseControllers('*')].sort(), [...controllerNames].sort());
  assert.ok(!parseControllers('*,-deployment').has('deployment'));
  assert.ok(parseControllers('*,-deployment').has('scheduler'));
  assert.deepEqual([...parseControllers('')], []);
  assert.deepEqual([...parseControllers('scheduler')], ['scheduler']);
  assert.throws(() => parseControllers('*,-nosuch'), /Unknown controller "nosuch"/);
});
