import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TerminalSize } from '../runtime.js';
import { parseTerminalSize, TerminalSizes } from './terminal-sizes.js';

test('a resize message is read as rows and columns', () => {
  assert.deepEqual(parseTerminalSize('{"Width":80,"Height":24}'), { rows: 24, columns: 80 });
  assert.throws(() => parseTerminalSize('{"Width":'));
});

test('the first size settles once; a late subscriber gets the latest size, then the next ones', async () => {
  const sizes = new TerminalSizes();
  sizes.push({ rows: 25, columns: 81 });
  sizes.push({ rows: 24, columns: 80 });
  assert.deepEqual(await sizes.first, { rows: 25, columns: 81 });
  const seen: TerminalSize[] = [];
  const stop = sizes.onResize((s) => seen.push(s));
  sizes.push({ rows: 30, columns: 100 });
  stop();
  sizes.push({ rows: 1, columns: 1 });
  assert.deepEqual(seen, [
    { rows: 24, columns: 80 },
    { rows: 30, columns: 100 },
  ]);
});

test('a client that goes away before any size leaves the first size undefined', async () => {
  const sizes = new TerminalSizes();
  sizes.end();
  assert.equal(await sizes.first, undefined);
});
