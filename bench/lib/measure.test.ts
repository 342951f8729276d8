import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile, summarise } from './measure.js';

test('percentiles by nearest rank', () => {
  const v = [5, 1, 4, 2, 3];
  assert.equal(percentile(v, 50), 3);
  assert.equal(percentile(v, 99), 5);
  assert.equal(percentile(v, 0), 1);
  assert.equal(summarise(v).mean, 3);
});
