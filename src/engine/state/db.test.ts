import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { migrate, openEngineDb } from './db.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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
