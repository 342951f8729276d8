import assert from 'node:assert/strict';
import { test } from 'node:test';
import { milliCpu, parseQuantity } from './quantity.js';

test('quantities', () => {
  assert.equal(milliCpu('250m'), 250);
  assert.equal(milliCpu('2'), 2000);
  assert.equal(milliCpu(0.5), 500);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('128M'), 128e6);
  assert.equal(parseQuantity(undefined), 0);
});
