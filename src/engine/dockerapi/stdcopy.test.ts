import assert from 'node:assert/strict';
import { it } from 'node:test';
import { frame, STDERR, STDOUT, unframe } from './stdcopy.js';

it('frames with an 8-byte header: stream, three zeros, big-endian length', () => {
  const f = frame(STDERR, Buffer.from('hey'));
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 3]);
  const both = Buffer.concat([frame(STDOUT, Buffer.from('a')), f]);
  assert.deepEqual(
    unframe(both).map((x) => [x.stream, x.data.toString()]),
    [
      [1, 'a'],
      [2, 'hey'],
    ],
  );
});
