import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEvictionHard, thresholdBytes } from './thresholds.js';

test('the kubelet defaults, and a flag replaces only the signals it names', () => {
  assert.deepEqual(parseEvictionHard(), [
    { signal: 'memory.available', quantity: 100 * 1024 * 1024 },
    { signal: 'nodefs.available', percentage: 0.1 },
    { signal: 'imagefs.available', percentage: 0.15 },
  ]);
  const t = parseEvictionHard('nodefs.available<99%, memory.available<1Gi');
  assert.deepEqual(t, [
    { signal: 'memory.available', quantity: 1024 ** 3 },
    { signal: 'nodefs.available', percentage: 0.99 },
    { signal: 'imagefs.available', percentage: 0.15 },
  ]);
  assert.equal(thresholdBytes(t[1]!, 1000), 990);
  // Zero turns a threshold off.
  assert.deepEqual(
    parseEvictionHard('imagefs.available<0%,memory.available<0').map((x) => x.signal),
    ['nodefs.available'],
  );
});

test('bad thresholds are refused naming the value', () => {
  assert.throws(() => parseEvictionHard('memory.free<1Gi'), /unsupported eviction signal "memory.free"/);
  assert.throws(
    () => parseEvictionHard('memory.available>1Gi'),
    /"memory.available>1Gi" is not SIGNAL<QUANTITY/,
  );
  assert.throws(() => parseEvictionHard('nodefs.available<120%'), /"120%" is not a percentage/);
  assert.throws(() => parseEvictionHard('memory.available<lots'), /"lots" is not a quantity/);
});
