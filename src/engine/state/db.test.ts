import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { migrate, openEngineDb } from './db.js';

const dir = tempDir('berth-db-');

test('migrations apply once and in order', () => {
  const db = openEngineDb(dir);
  const steps = ['CREATE TABLE t (a INTEGER)', 'ALTER TABLE t ADD COLUMN b TEXT'];
  migrate(db, 'test', steps);
  migrate(db, 'test', steps);
  db.prepare('INSERT INTO t (a, b) VALUES (1, ?)').run('x');
  assert.deepEqual(db.prepare('SELECT a, b FROM t').all(), [{ a: 1, b: 'x' }]);
  assert.equal((db.pragma('journal_mode', { simple: true }) as string).toLowerCase(), 'wal');
  db.close();
});

test('a store made with loose modes is locked down on open: folder 0700, database files 0600', () => {
  const root = join(dir, 'loose');
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755);
  const first = openEngineDb(root);
  first.exec('CREATE TABLE s (v TEXT)');
  // Files SQLite makes itself take the database file's mode.
  for (const f of ['berth.db', 'berth.db-wal', 'berth.db-shm'])
    assert.equal(statSync(join(root, f)).mode & 0o777, 0o600, f);
  first.close();
  for (const f of ['berth.db', 'berth.db-wal', 'berth.db-shm']) {
    writeFileSync(join(root, f), '', { flag: 'a' });
    chmodSync(join(root, f), 0o644);
  }
  const db = openEngineDb(root);
  db.prepare('INSERT INTO s (v) VALUES (?)').run('secret');
  for (const f of ['berth.db', 'berth.db-wal', 'berth.db-shm'])
    assert.equal(statSync(join(root, f)).mode & 0o777, 0o600, f);
  assert.equal(statSync(root).mode & 0o777, 0o700);
  db.close();
});
