import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { isInvalidArgument } from './errors.js';
import { ensurePrivateDir, ensurePrivateFile } from './private-path.js';

const dir = tempDir('berth-private-');
const mode = (p: string) => statSync(p).mode & 0o7777;

test('a folder that already exists with a loose mode becomes 0700; a new one is made 0700', () => {
  const old = join(dir, 'old');
  mkdirSync(old);
  chmodSync(old, 0o755);
  ensurePrivateDir(old);
  assert.equal(mode(old), 0o700);
  const fresh = join(dir, 'a', 'b');
  ensurePrivateDir(fresh);
  assert.equal(mode(fresh), 0o700);
});

test('files become 0600, missing ones are made 0600, missing companions are skipped', () => {
  const f = join(dir, 'db');
  writeFileSync(f, 'x', { mode: 0o644 });
  writeFileSync(`${f}-wal`, 'x', { mode: 0o644 });
  ensurePrivateFile(f, [`${f}-wal`, `${f}-shm`]);
  assert.equal(mode(f), 0o600);
  assert.equal(mode(`${f}-wal`), 0o600);
  const g = join(dir, 'new');
  ensurePrivateFile(g);
  assert.equal(mode(g), 0o600);
});

test('refuses folders the whole system shares, leaving their mode alone', () => {
  for (const shared of ['/', '/tmp', tmpdir()]) {
    const before = mode(shared);
    assert.throws(() => ensurePrivateDir(shared), isInvalidArgument, shared);
    assert.equal(mode(shared), before);
  }
});
