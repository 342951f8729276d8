import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeProxy, parseDetachKeys } from './detach-keys.js';

test('parses detach keys as dockerd does', () => {
  assert.deepEqual(parseDetachKeys(''), [0x10, 0x11]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 0x78]);
  assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-]'), [0, 29]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys \(ctrl-1\) provided/);
  assert.throws(() => parseDetachKeys('abc'), /Invalid detach keys/);
});

test('passes input through and stops at the sequence, even split across chunks', async () => {
  let detached = 0;
  const p = escapeProxy([0x10, 0x11], () => detached++);
  const out: Buffer[] = [];
  p.on('data', (b: Buffer) => out.push(b));
  p.write(Buffer.from([0x61, 0x10, 0x62])); // a, a held Ctrl-P that is not the sequence, b
  p.write(Buffer.from([0x63, 0x10]));
  p.write(Buffer.from([0x11, 0x64]));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([...Buffer.concat(out)], [0x61, 0x10, 0x62, 0x63]);
  assert.equal(detached, 1);
});
