/**
 * The SQLite datastore's file: schema, pragmas and the write path, shared by the store (which
 * reads on the main thread) and its writer thread (sqlite-writer.ts, which commits).
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { BerthError } from '../../../core/errors.js';
import { ensurePrivateFile } from '../../../core/private-path.js';
import { storeErrors } from '../errors.js';
import type { KeyValue, WatchEvent } from '../store.js';
import type { HighWater } from './high-water.js';
import { storeFiles } from './sqlite-check.js';

const require = createRequire(import.meta.url);

const schema = `
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS log_key_id ON log(key, id);
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
`;

/**
 * Opens (and on first use creates) the database file with the store's pragmas. The file
 * holds Secrets: it is made 0600 before SQLite opens it, since SQLite gives its -wal and
 * -shm files the database file's mode, and files left wider by older versions are narrowed.
 */
export function openDb(path: string): BetterSqlite3.Database {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const files = storeFiles(path);
  ensurePrivateFile(path, [files.wal, files.shm, files.highWater]);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: each commit's WAL frames are fsynced before it is acknowledged.
  db.pragma('synchronous = FULL');
  db.pragma('journal_size_limit = 8388608');
  db.exec(schema);
  return db;
}

/** A row of `current` (or a log row shaped like one). */
export interface Row {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
}

export const kvOf = (r: Row): KeyValue => ({
  key: r.key,
  value: r.value,
  createRevision: r.create_revision,
  modRevision: r.mod_revision,
});

/** One write as the writer thread receives it. */
export type WriteOp =
  | { op: 'create'; key: string; value: string }
  | { op: 'update'; key: string; value: string; expected: number }
  | { op: 'delete'; key: string; expected?: number };

/** What became of one write: its result and watch event, or the error it met. */
export type WriteOutcome =
  | { ok: true; result: KeyValue; event: WatchEvent }
  | { ok: false; code: BerthError['code']; message: string };

/**
 * The write path on one connection: `apply` runs a batch of writes in one transaction (one
 * fsync), each checking its own precondition against the state the earlier ones left, so the
 * semantics are those of one write at a time, then records the batch's last revision in the
 * high-water record before returning (so before anything is acknowledged); `compact` drops
 * history up to a revision.
 */
export function writer(db: BetterSqlite3.Database, highWater: HighWater) {
  const q = {
    meta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare('UPDATE meta SET value = ? WHERE name = ?'),
    get: db.prepare('SELECT key, value, create_revision, mod_revision FROM current WHERE key = ?'),
    insertLog: db.prepare(
      'INSERT INTO log (id, key, value, deleted, create_revision, prev_revision) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    upsert: db.prepare(
      'INSERT INTO current (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision',
    ),
    del: db.prepare('DELETE FROM current WHERE key = ?'),
    compact: db.prepare(
      `DELETE FROM log WHERE id <= @rev AND (deleted = 1 OR id NOT IN (SELECT MAX(id) FROM log WHERE id <= @rev GROUP BY key))`,
    ),
    // After a compaction at @from, what one at @rev adds: rows that a write in (@from, @rev]
    // superseded (found through log_key_id from those writes), and that range's tombstones.
    compactSuperseded: db.prepare(
      `DELETE FROM log WHERE id IN (SELECT o.id FROM log n JOIN log o ON o.key = n.key AND o.id < n.id WHERE n.id > @from AND n.id <= @rev)`,
    ),
    compactTombstones: db.prepare('DELETE FROM log WHERE id > @from AND id <= @rev AND deleted = 1'),
  };
  let revision = q.meta.get('revision') as number;
  /**
   * The revision this connection last compacted at. The first compaction scans the whole log
   * (history left by an older version, or marked compacted without deleting it when data loss
   * was accepted); later ones visit only the writes since, which keeps each one short under a
   * steady write load instead of growing with the log, while no write can commit.
   */
  let compactedHere: number | undefined;

  function write(key: string, value: string, deleted: boolean, createRev: number, prevRev: number): number {
    const rev = revision + 1;
    q.insertLog.run(rev, key, value, deleted ? 1 : 0, createRev || rev, prevRev);
    if (deleted) q.del.run(key);
    else q.upsert.run(key, value, createRev || rev, rev);
    q.setMeta.run(rev, 'revision');
    revision = rev;
    return rev;
  }

  function one(w: WriteOp): { result: KeyValue; event: WatchEvent } {
    const cur = q.get.get(w.key) as Row | undefined;
    if (w.op === 'create') {
      if (cur) throw storeErrors.exists(w.key);
      const rev = write(w.key, w.value, false, 0, 0);
      const kv = { key: w.key, value: w.value, createRevision: rev, modRevision: rev };
      return { result: kv, event: { type: 'put', kv } };
    }
    if (!cur) throw storeErrors.missing(w.key);
    if (w.expected !== undefined && cur.mod_revision !== w.expected)
      throw storeErrors.conflict(w.key, w.expected, cur.mod_revision);
    if (w.op === 'update') {
      const rev = write(w.key, w.value, false, cur.create_revision, cur.mod_revision);
      const kv = { key: w.key, value: w.value, createRevision: cur.create_revision, modRevision: rev };
      return { result: kv, event: { type: 'put', kv, prevKv: kvOf(cur) } };
    }
    const rev = write(w.key, cur.value, true, cur.create_revision, cur.mod_revision);
    const prev = kvOf(cur);
    return { result: prev, event: { type: 'delete', kv: { ...prev, modRevision: rev }, prevKv: prev } };
  }

  const batch = db.transaction((ops: WriteOp[]): WriteOutcome[] =>
    ops.map((w) => {
      try {
        return { ok: true as const, ...one(w) };
      } catch (e) {
        if (e instanceof BerthError) return { ok: false as const, code: e.code, message: e.message };
        throw e;
      }
    }),
  );

  return {
    revision: () => revision,
    /** Commits the writes in one transaction; on a failure of the whole transaction, none happened. */
    apply(ops: WriteOp[]): WriteOutcome[] {
      const before = revision;
      let outcomes: WriteOutcome[];
      try {
        outcomes = batch(ops);
      } catch (e) {
        revision = before;
        throw e;
      }
      if (revision > before) highWater.record(revision);
      return outcomes;
    },
    compact(rev: number): void {
      const from = compactedHere;
      db.transaction(() => {
        if (from === undefined) q.compact.run({ rev });
        else if (rev > from) {
          q.compactSuperseded.run({ from, rev });
          q.compactTombstones.run({ from, rev });
        }
        q.setMeta.run(rev, 'compacted');
      })();
      if (from === undefined || rev > from) compactedHere = rev;
    },
    checkpoint(): void {
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    close(): void {
      highWater.close();
      db.close();
    },
  };
}
