import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { openHighWater } from './high-water.js';
import { storeFiles } from './sqlite-check.js';
import { openDb, type WriteOp, writer } from './sqlite-db.js';

const dir = tempDir('berth-sqlite-db-');

test('compactions after the first visit only the writes since and leave what a full one would', () => {
  const path = join(dir, 'state.db');
  const db = openDb(path);
  const w = writer(db, openHighWater(storeFiles(path).highWater, 0));
  const rev = new Map<string, number>();
  const apply = (op: WriteOp) => {
    const [o] = w.apply([op]);
    assert.ok(o?.ok);
    if (op.op === 'delete') rev.delete(op.key);
    else rev.set(op.key, o.result.modRevision);
  };
  const round = (n: number) => {
    for (let i = 0; i < 20; i++) {
      const key = `/k/${(i * 7 + n) % 13}`;
      if (!rev.has(key)) apply({ op: 'create', key, value: `${n}.${i}` });
      else if (i % 5 === 0) apply({ op: 'delete', key });
      else apply({ op: 'update', key, value: `${n}.${i}`, expected: rev.get(key) as number });
    }
  };
  const fullCompaction = db.prepare(
    'DELETE FROM log WHERE id <= @rev AND (deleted = 1 OR id NOT IN (SELECT MAX(id) FROM log WHERE id <= @rev GROUP BY key))',
  );
  round(0);
  w.compact(w.revision() - 5);
  for (let n = 1; n < 6; n++) {
    round(n);
    const at = w.revision() - 3;
    w.compact(at);
    // Nothing is left that a whole-log compaction at the same revision would still remove...
    assert.equal(fullCompaction.run({ rev: at }).changes, 0);
  }
  // ...and every live key keeps its latest value.
  const live = db.prepare('SELECT key, mod_revision FROM current').all() as {
    key: string;
    mod_revision: number;
  }[];
  assert.deepEqual(new Map(live.map((r) => [r.key, r.mod_revision])), rev);
  for (const [key, r] of rev)
    assert.ok(db.prepare('SELECT 1 FROM log WHERE key = ? AND id = ?').get(key, r), `${key} at ${r}`);
  w.close();
});
