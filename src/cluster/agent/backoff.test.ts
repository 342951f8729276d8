import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from './backoff.js';

test('back-off doubles from 10 s to 5 min and starts over after a long quiet', () => {
  let now = 0;
  const b = new Backoff(() => now);
  const delays = Array.from({ length: 7 }, () => b.next('k'));
  assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  assert.equal(b.remaining('k', now), 300_000);
  now += 100_000;
  assert.equal(b.remaining('k', 0), 200_000);
  now += 600_001;
  assert.equal(b.remaining('k', 0), 0, 'forgotten after twice the maximum');
  assert.equal(b.next('k'), 10_000);
  b.forgetPrefix('k');
  assert.equal(b.delay('k'), 0);
});
