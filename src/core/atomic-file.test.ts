import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { writeFileAtomic, writeFileAtomicSync, writeJsonAtomic } from './atomic-file.js';

const dir = tempDir('berth-atomic-');

test('writes, replaces and leaves no temp file', async () => {
  const p = join(dir, 'a.json');
  await writeJsonAtomic(p, { a: 1 });
  await writeFileAtomic(p, 'two', { mode: 0o600 });
  assert.equal(readFileSync(p, 'utf8'), 'two');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['a.json']);
});

test('sync variant', () => {
  const p = join(dir, 'b');
  writeFileAtomicSync(p, 'x');
  assert.equal(readFileSync(p, 'utf8'), 'x');
});

test('a failed write leaves the old file', async () => {
  const p = join(dir, 'missing-dir', 'c');
  await assert.rejects(writeFileAtomic(p, 'x'));
});
