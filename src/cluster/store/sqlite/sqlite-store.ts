import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { BerthError } from '../../../core/errors.js';
import { prefixEnd, storeErrors } from '../errors.js';
import type { KeyValue, ListOptions, ListResult, Store, Watch, WatchEvent, WatchHandlers } from '../store.js';

const require = createRequire(import.meta.url);

/** Options for {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Keep at least this many revisions of history for watchers and paged lists. Default: 1000. */
  historyWindow?: number;
  /** Compact and checkpoint after this many writes. Default: 1000. */
  maintenanceEvery?: number;
}

interface LogRow {
  id: number;
  key: string;
  value: string;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  prev_value?: string | null;
  prev_create?: number | null;
}

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

interface Watcher {
  prefix: string;
  end: string;
  handlers: WatchHandlers;
  pending: WatchEvent[];
  scheduled: boolean;
  closed: boolean;
}

/**
 * The SQLite datastore (after kine's design, fitted to one process): an append-only `log`
 * whose row id is the revision, beside a `current` table holding the live value of each key
 * so reads of "now" never scan history.
 *
 * better-sqlite3 is synchronous, so every write runs to completion on the one thread: writes
 * are serialised by construction and "database is locked" cannot happen inside the server.
 * Each write is one transaction with synchronous=FULL, so a write that was acknowledged
 * survives a `kill -9`. Watchers are told in process right after each commit, and catch up
 * from the log when they start behind; nothing polls. Every `maintenanceEvery` writes, history
 * older than `historyWindow` revisions is compacted and the WAL is checkpointed and truncated,
 * which keeps both files bounded under churn.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('journal_size_limit = 8388608');
  db.exec(schema);
  const historyWindow = options.historyWindow ?? 1000;
  const maintenanceEvery = options.maintenanceEvery ?? 1000;

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
    listNow: db.prepare(
      'SELECT key, value, create_revision, mod_revision FROM current WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?',
    ),
    countNow: db.prepare('SELECT COUNT(*) FROM current WHERE key >= ? AND key < ? AND key > ?').pluck(),
    listAt: db.prepare(
      `SELECT l.key, l.value, l.create_revision, l.id AS mod_revision FROM log l
       JOIN (SELECT key, MAX(id) AS id FROM log WHERE key >= ? AND key < ? AND key > ? AND id <= ? GROUP BY key) m ON l.id = m.id
       WHERE l.deleted = 0 ORDER BY l.key LIMIT ?`,
    ),
    countAt: db
      .prepare(
        `SELECT COUNT(*) FROM log l
       JOIN (SELECT key, MAX(id) AS id FROM log WHERE key >= ? AND key < ? AND key > ? AND id <= ? GROUP BY key) m ON l.id = m.id
       WHERE l.deleted = 0`,
      )
      .pluck(),
    since: db.prepare(
      `SELECT l.id, l.key, l.value, l.deleted, l.create_revision, l.prev_revision, p.value AS prev_value, p.create_revision AS prev_create
       FROM log l LEFT JOIN log p ON p.id = l.prev_revision
       WHERE l.id > ? AND l.key >= ? AND l.key < ? ORDER BY l.id`,
    ),
    compact: db.prepare(
      `DELETE FROM log WHERE id <= @rev AND (deleted = 1 OR id NOT IN (SELECT MAX(id) FROM log WHERE id <= @rev GROUP BY key))`,
    ),
  };

  let revision = q.meta.get('revision') as number;
  let compacted = q.meta.get('compacted') as number;
  let writesSinceMaintenance = 0;
  let closed = false;
  const watchers = new Set<Watcher>();

  const kvOf = (r: {
    key: string;
    value: string;
    create_revision: number;
    mod_revision: number;
  }): KeyValue => ({
    key: r.key,
    value: r.value,
    createRevision: r.create_revision,
    modRevision: r.mod_revision,
  });

  function ensureOpen(): void {
    if (closed) throw new BerthError('Unavailable', 'The datastore is closed');
  }

  function dispatch(ev: WatchEvent): void {
    for (const w of watchers) {
      if (w.closed || ev.kv.key < w.prefix || ev.kv.key >= w.end) continue;
      w.pending.push(ev);
      schedule(w);
    }
  }

  function schedule(w: Watcher): void {
    if (w.scheduled) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      if (w.closed || w.pending.length === 0) return;
      const batch = w.pending;
      w.pending = [];
      try {
        w.handlers.onEvents(batch);
      } catch {
        /* a handler's failure is its own; other watchers go on */
      }
    });
  }

  // One write: log row + current table + revision counter. Runs inside a batch transaction.
  function write(key: string, value: string, deleted: boolean, createRev: number, prevRev: number): number {
    const rev = revision + 1;
    q.insertLog.run(rev, key, value, deleted ? 1 : 0, createRev || rev, prevRev);
    if (deleted) q.del.run(key);
    else q.upsert.run(key, value, createRev || rev, rev);
    q.setMeta.run(rev, 'revision');
    revision = rev;
    return rev;
  }

  /**
   * Group commit: writes that arrive in the same turn of the event loop are applied in order
   * inside one transaction and made durable by one fsync, then acknowledged together. Each
   * write still checks its own preconditions against the state the earlier ones left, so
   * the semantics are those of one write at a time; only the fsync is shared.
   */
  type Op = {
    apply: () => { result: KeyValue; event: WatchEvent };
    resolve: (kv: KeyValue) => void;
    reject: (e: unknown) => void;
  };
  let batch: Op[] = [];
  const runBatch = db.transaction((ops: Op[]) =>
    ops.map((op) => {
      try {
        return { ok: true as const, out: op.apply() };
      } catch (e) {
        if (e instanceof BerthError) return { ok: false as const, err: e };
        throw e;
      }
    }),
  );
  function flush(): void {
    const ops = batch;
    batch = [];
    if (ops.length === 0) return;
    if (closed) {
      for (const op of ops) op.reject(new BerthError('Unavailable', 'The datastore is closed'));
      return;
    }
    const before = revision;
    let outcomes: ReturnType<typeof runBatch>;
    try {
      outcomes = runBatch(ops);
    } catch (e) {
      revision = before;
      for (const op of ops) op.reject(e);
      return;
    }
    outcomes.forEach((o, i) => {
      if (o.ok) {
        dispatch(o.out.event);
        afterWrite();
        ops[i]!.resolve(o.out.result);
      } else {
        ops[i]!.reject(o.err);
      }
    });
  }
  function enqueue(apply: Op['apply']): Promise<KeyValue> {
    ensureOpen();
    return new Promise((resolve, reject) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push({ apply, resolve, reject });
    });
  }

  function afterWrite(): void {
    writesSinceMaintenance++;
    if (writesSinceMaintenance >= maintenanceEvery) {
      writesSinceMaintenance = 0;
      setImmediate(maintain);
    }
  }

  function maintain(): void {
    if (closed) return;
    const target = revision - historyWindow;
    if (target > compacted) compactSync(target);
    db.pragma('wal_checkpoint(TRUNCATE)');
  }

  function compactSync(rev: number): void {
    if (rev <= compacted) return;
    const r = Math.min(rev, revision);
    db.transaction(() => {
      q.compact.run({ rev: r });
      q.setMeta.run(r, 'compacted');
    })();
    compacted = r;
  }

  const store: Store = {
    async get(key) {
      ensureOpen();
      const r = q.get.get(key) as Parameters<typeof kvOf>[0] | undefined;
      return r ? kvOf(r) : undefined;
    },
    async list(prefix, options: ListOptions = {}): Promise<ListResult> {
      ensureOpen();
      const end = prefixEnd(prefix);
      const after = options.startAfter ?? '';
      const limit = options.limit && options.limit > 0 ? options.limit : -1;
      const at = options.revision && options.revision > 0 ? options.revision : revision;
      if (at < compacted) throw storeErrors.compacted(at, compacted);
      if (at > revision) throw storeErrors.future(at, revision);
      // One read transaction, so the page and its count agree.
      return db.transaction(() => {
        const fetch = limit > 0 ? limit + 1 : -1;
        const rows = (
          at === revision
            ? q.listNow.all(prefix, end, after, fetch)
            : q.listAt.all(prefix, end, after, at, fetch)
        ) as Parameters<typeof kvOf>[0][];
        const more = limit > 0 && rows.length > limit;
        const items = (more ? rows.slice(0, limit) : rows).map(kvOf);
        const result: ListResult = { items, revision: at, more };
        if (more) {
          const last = items[items.length - 1]!.key;
          const left = (
            at === revision ? q.countNow.get(prefix, end, last) : q.countAt.get(prefix, end, last, at)
          ) as number;
          result.remaining = left;
        }
        return result;
      })();
    },
    async revision() {
      ensureOpen();
      return revision;
    },
    async count(prefix) {
      ensureOpen();
      return q.countNow.get(prefix, prefixEnd(prefix), '') as number;
    },
    create(key, value) {
      return enqueue(() => {
        if (q.get.get(key)) throw storeErrors.exists(key);
        const rev = write(key, value, false, 0, 0);
        const kv = { key, value, createRevision: rev, modRevision: rev };
        return { result: kv, event: { type: 'put', kv } };
      });
    },
    update(key, value, expected) {
      return enqueue(() => {
        const cur = q.get.get(key) as Parameters<typeof kvOf>[0] | undefined;
        if (!cur) throw storeErrors.missing(key);
        if (cur.mod_revision !== expected) throw storeErrors.conflict(key, expected, cur.mod_revision);
        const rev = write(key, value, false, cur.create_revision, cur.mod_revision);
        const kv = { key, value, createRevision: cur.create_revision, modRevision: rev };
        return { result: kv, event: { type: 'put', kv, prevKv: kvOf(cur) } };
      });
    },
    delete(key, expected) {
      return enqueue(() => {
        const cur = q.get.get(key) as Parameters<typeof kvOf>[0] | undefined;
        if (!cur) throw storeErrors.missing(key);
        if (expected !== undefined && cur.mod_revision !== expected)
          throw storeErrors.conflict(key, expected, cur.mod_revision);
        const rev = write(key, cur.value, true, cur.create_revision, cur.mod_revision);
        const prev = kvOf(cur);
        return { result: prev, event: { type: 'delete', kv: { ...prev, modRevision: rev }, prevKv: prev } };
      });
    },
    watch(prefix, afterRevision, handlers): Watch {
      const w: Watcher = {
        prefix,
        end: prefixEnd(prefix),
        handlers,
        pending: [],
        scheduled: false,
        closed: false,
      };
      if (closed) {
        setImmediate(() => handlers.onError(new BerthError('Unavailable', 'The datastore is closed')));
        return { close() {} };
      }
      if (afterRevision < compacted) {
        setImmediate(() => handlers.onError(storeErrors.compacted(afterRevision, compacted)));
        return { close() {} };
      }
      // Backlog and registration happen in one synchronous step: no write can fall between.
      if (afterRevision < revision) {
        for (const r of q.since.all(afterRevision, prefix, w.end) as LogRow[]) {
          const kv: KeyValue = {
            key: r.key,
            value: r.value,
            createRevision: r.create_revision,
            modRevision: r.id,
          };
          const prevKv: KeyValue | undefined =
            r.prev_value != null
              ? {
                  key: r.key,
                  value: r.prev_value,
                  createRevision: r.prev_create ?? 0,
                  modRevision: r.prev_revision,
                }
              : undefined;
          w.pending.push(
            r.deleted ? { type: 'delete', kv, prevKv } : { type: 'put', kv, ...(prevKv ? { prevKv } : {}) },
          );
        }
        if (w.pending.length) schedule(w);
      }
      watchers.add(w);
      return {
        close() {
          w.closed = true;
          watchers.delete(w);
        },
      };
    },
    async compact(rev) {
      ensureOpen();
      compactSync(rev);
    },
    async compactedRevision() {
      return compacted;
    },
    async close() {
      if (closed) return;
      // Writes already queued are committed (and acknowledged) before the file closes.
      flush();
      closed = true;
      for (const w of watchers) {
        w.closed = true;
        const err = new BerthError('Unavailable', 'The datastore was closed');
        setImmediate(() => w.handlers.onError(err));
      }
      watchers.clear();
      db.close();
    },
  };
  return store;
}
