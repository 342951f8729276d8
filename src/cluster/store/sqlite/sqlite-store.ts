import { BerthError } from '../../../core/errors.js';
import { logger } from '../../../core/log.js';
import { startWorker } from '../../../core/worker.js';
import { prefixEnd, storeErrors } from '../errors.js';
import type { KeyValue, ListOptions, ListResult, Store, Watch, WatchEvent, WatchHandlers } from '../store.js';
import { openHighWater } from './high-water.js';
import { checkStore, corrupted, isCorruption, storeFiles } from './sqlite-check.js';
import { kvOf, openDb, type Row, type WriteOp, writer } from './sqlite-db.js';
import type { WriterReply, WriterRequest } from './sqlite-writer.js';

const log = logger('sqlite-store');

/** Options for {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Keep at least this many revisions of history for watchers and paged lists. Default: 1000. */
  historyWindow?: number;
  /** Compact and checkpoint after this many writes. Default: 1000. */
  maintenanceEvery?: number;
  /**
   * Open even when the database ends before the last acknowledged revision (a damaged WAL,
   * or a restored backup); new revisions then continue after the acknowledged one.
   */
  acceptDataLoss?: boolean;
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

interface Watcher {
  prefix: string;
  end: string;
  /** Events at or below this revision were sent already (or predate the watch). */
  after: number;
  handlers: WatchHandlers;
  pending: WatchEvent[];
  scheduled: boolean;
  closed: boolean;
}

type Pending = { op: WriteOp; resolve: (kv: KeyValue) => void; reject: (e: unknown) => void };

/**
 * The SQLite datastore (after kine's design, fitted to one process): an append-only `log`
 * whose row id is the revision, beside a `current` table holding the live value of each key
 * so reads of "now" never scan history.
 *
 * Writes are committed by one writer thread (sqlite-writer.ts) with synchronous=FULL, so an
 * acknowledged write survives a `kill -9` (and a power cut); writes are serialised there, so
 * "database is locked" cannot happen. Writes that arrive while a batch is being committed
 * form the next batch, committed by one transaction and one fsync. Reads run here, on their
 * own connection (WAL lets them proceed during commits), and watchers are told in process
 * when a batch is acknowledged, catching up from the log when they start behind; nothing
 * polls. Every `maintenanceEvery` writes, history older than `historyWindow` revisions is
 * compacted and the WAL is checkpointed and truncated, which keeps both files bounded.
 * Without a built writer file (never in practice) the writes run on this thread instead.
 *
 * Before opening, the file is checked (sqlite-check.ts): a damaged database, or one missing
 * revisions that were acknowledged, throws FailedPrecondition instead of serving.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  const acked = checkStore(path, options.acceptDataLoss ?? false);
  let db: ReturnType<typeof openDb>;
  try {
    db = openDb(path);
  } catch (e) {
    throw isCorruption(e) ? corrupted(path, (e as Error).message) : e;
  }
  const meta = db.prepare('SELECT value FROM meta WHERE name = ?').pluck();
  // Accepted loss: number on after what clients saw, so no revision means two things, and
  // treat the history before it as compacted, so watchers and informers resuming from a
  // revision that is gone get Gone and list again instead of missing the loss.
  if ((meta.get('revision') as number) < acked)
    db.prepare("UPDATE meta SET value = ? WHERE name IN ('revision', 'compacted')").run(acked);
  openHighWater(storeFiles(path).highWater, meta.get('revision') as number).close();
  const historyWindow = options.historyWindow ?? 1000;
  const maintenanceEvery = options.maintenanceEvery ?? 1000;

  const q = {
    meta,
    get: db.prepare('SELECT key, value, create_revision, mod_revision FROM current WHERE key = ?'),
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
       WHERE l.id > ? AND l.id <= ? AND l.key >= ? AND l.key < ? ORDER BY l.id`,
    ),
  };

  /** The revision of the last acknowledged write: what watchers have been told up to. */
  let revision = q.meta.get('revision') as number;
  /** History up to here is gone (or is being removed by the writer: reads treat it as gone). */
  let compacted = q.meta.get('compacted') as number;
  let writesSinceMaintenance = 0;
  let closed = false;
  let failed: Error | undefined;
  const watchers = new Set<Watcher>();
  /**
   * Live values by key, kept exact by this process being the only writer: filled by reads,
   * updated when a write is acknowledged. Spares the API server a SQLite read (and the
   * string copy) for the current value it checks on every update.
   */
  const current = new Map<string, KeyValue>();

  // The writer: a thread when its module is there (a bundle entry, or the TypeScript source
  // under tsx), else a connection on this thread.
  const thread = startWorker(import.meta.url, 'sqlite-writer', { path });
  const local = thread ? undefined : writer(openDb(path), openHighWater(storeFiles(path).highWater, 0));
  let seq = 0;
  const replies = new Map<number, (r: WriterReply) => void>();
  function call(m: WriterRequest): Promise<WriterReply> {
    if (local) {
      try {
        if (m.type === 'batch')
          return Promise.resolve({ id: m.id, outcomes: local.apply(m.ops), revision: local.revision() });
        if (m.type === 'compact') {
          local.compact(m.rev);
          if (m.checkpoint) local.checkpoint();
        }
        return Promise.resolve({ id: m.id, done: true });
      } catch (e) {
        return Promise.resolve({ id: m.id, error: (e as Error).message });
      }
    }
    return new Promise((resolve) => {
      // The thread keeps the process alive only while it owes an answer.
      if (replies.size === 0) thread!.ref();
      replies.set(m.id, resolve);
      thread!.postMessage(m);
    });
  }
  thread?.on('message', (r: WriterReply) => {
    const done = replies.get(r.id);
    replies.delete(r.id);
    if (replies.size === 0) thread?.unref();
    done?.(r);
  });
  const lost = (why: string) => {
    if (closed) return;
    failed = new BerthError('Unavailable', `The datastore's writer stopped: ${why}`);
    for (const [id, done] of replies) done({ id, error: failed.message });
    replies.clear();
  };
  thread?.on('error', (e) => lost(e.message));
  thread?.on('exit', (code) => lost(`exit code ${code}`));
  // After the listeners: adding a 'message' listener refs the thread's port again, and a
  // thread left referenced keeps the process alive after a failed start.
  thread?.unref();

  function ensureOpen(): void {
    if (closed) throw new BerthError('Unavailable', 'The datastore is closed');
    if (failed) throw failed;
  }

  function dispatch(ev: WatchEvent): void {
    for (const w of watchers) {
      if (w.closed || ev.kv.key < w.prefix || ev.kv.key >= w.end || ev.kv.modRevision <= w.after) continue;
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
      w.after = batch[batch.length - 1]!.kv.modRevision;
      try {
        w.handlers.onEvents(batch);
      } catch {
        /* a handler's failure is its own; other watchers go on */
      }
    });
  }

  // Group commit: one batch with the writer at a time; what arrives meanwhile is the next one.
  let queued: Pending[] = [];
  let inFlight = false;
  let idle: (() => void)[] = [];
  function send(): void {
    if (inFlight || queued.length === 0) {
      if (!inFlight) for (const f of idle.splice(0)) f();
      return;
    }
    const ops = queued;
    queued = [];
    inFlight = true;
    void call({ type: 'batch', id: ++seq, ops: ops.map((p) => p.op) }).then((r) => {
      inFlight = false;
      if ('error' in r) {
        const err = failed ?? new BerthError('Internal', `The datastore could not commit: ${r.error}`);
        for (const p of ops) p.reject(err);
      } else if ('outcomes' in r) {
        revision = Math.max(revision, r.revision);
        r.outcomes.forEach((o, i) => {
          if (o.ok) {
            if (o.event.type === 'delete') current.delete(o.event.kv.key);
            else current.set(o.event.kv.key, o.event.kv);
            dispatch(o.event);
            ops[i]!.resolve(o.result);
          } else ops[i]!.reject(new BerthError(o.code, o.message));
        });
        writesSinceMaintenance += r.outcomes.length;
        if (writesSinceMaintenance >= maintenanceEvery) {
          writesSinceMaintenance = 0;
          maintain(true);
        }
      }
      send();
    });
  }
  function enqueue(op: WriteOp): Promise<KeyValue> {
    ensureOpen();
    return new Promise((resolve, reject) => {
      if (queued.length === 0 && !inFlight) setImmediate(send);
      queued.push({ op, resolve, reject });
    });
  }

  /**
   * Compaction is decided here, before the writer deletes anything: from this moment, reads
   * of older revisions answer Gone, so none can see history half removed.
   */
  function maintain(checkpoint: boolean, to = revision - historyWindow): Promise<void> {
    const target = Math.min(to, revision);
    if (target <= compacted && !checkpoint) return Promise.resolve();
    if (target > compacted) compacted = target;
    return call({ type: 'compact', id: ++seq, rev: compacted, checkpoint }).then(() => undefined);
  }

  /** The revision of the snapshot a read transaction sees (may be ahead of `revision`). */
  const snapshotRevision = () => q.meta.get('revision') as number;

  const store: Store = {
    async get(key) {
      ensureOpen();
      const hit = current.get(key);
      if (hit) return hit;
      const r = q.get.get(key) as Row | undefined;
      if (!r) return undefined;
      const kv = kvOf(r);
      current.set(key, kv);
      return kv;
    },
    async list(prefix, options: ListOptions = {}): Promise<ListResult> {
      ensureOpen();
      const end = prefixEnd(prefix);
      const after = options.startAfter ?? '';
      const limit = options.limit && options.limit > 0 ? options.limit : -1;
      // One read transaction, so the page, its count and its revision agree.
      return db.transaction(() => {
        const now = snapshotRevision();
        const at = options.revision && options.revision > 0 ? options.revision : now;
        if (at < compacted) throw storeErrors.compacted(at, compacted);
        if (at > now) throw storeErrors.future(at, now);
        const fetch = limit > 0 ? limit + 1 : -1;
        const rows = (
          at === now ? q.listNow.all(prefix, end, after, fetch) : q.listAt.all(prefix, end, after, at, fetch)
        ) as Row[];
        const more = limit > 0 && rows.length > limit;
        const items = (more ? rows.slice(0, limit) : rows).map(kvOf);
        const result: ListResult = { items, revision: at, more };
        if (more) {
          const last = items[items.length - 1]!.key;
          result.remaining = (
            at === now ? q.countNow.get(prefix, end, last) : q.countAt.get(prefix, end, last, at)
          ) as number;
        }
        return result;
      })();
    },
    async revision() {
      ensureOpen();
      return Math.max(revision, snapshotRevision());
    },
    async count(prefix) {
      ensureOpen();
      return q.countNow.get(prefix, prefixEnd(prefix), '') as number;
    },
    create(key, value) {
      return enqueue({ op: 'create', key, value });
    },
    update(key, value, expected) {
      return enqueue({ op: 'update', key, value, expected });
    },
    delete(key, expected) {
      return enqueue(expected === undefined ? { op: 'delete', key } : { op: 'delete', key, expected });
    },
    watch(prefix, afterRevision, handlers): Watch {
      const w: Watcher = {
        prefix,
        end: prefixEnd(prefix),
        after: afterRevision,
        handlers,
        pending: [],
        scheduled: false,
        closed: false,
      };
      if (closed || failed) {
        const err = failed ?? new BerthError('Unavailable', 'The datastore is closed');
        setImmediate(() => handlers.onError(err));
        return { close() {} };
      }
      if (afterRevision < compacted) {
        setImmediate(() => handlers.onError(storeErrors.compacted(afterRevision, compacted)));
        return { close() {} };
      }
      // The backlog up to the last acknowledged write, and registration, in one synchronous
      // step: later writes reach the watcher through dispatch, none twice (w.after).
      if (afterRevision < revision) {
        for (const r of q.since.all(afterRevision, revision, prefix, w.end) as LogRow[]) {
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
      if (rev <= compacted) return;
      await maintain(false, rev);
    },
    async compactedRevision() {
      return compacted;
    },
    async close() {
      if (closed) return;
      // Writes already queued are committed (and acknowledged) before the file closes.
      if (inFlight || queued.length) {
        setImmediate(send);
        await new Promise<void>((r) => idle.push(r));
      }
      closed = true;
      for (const w of watchers) {
        w.closed = true;
        const err = new BerthError('Unavailable', 'The datastore was closed');
        setImmediate(() => w.handlers.onError(err));
      }
      watchers.clear();
      if (thread) {
        // Closing goes on whatever the writer thread answers (it may be gone already).
        await call({ type: 'close', id: ++seq }).catch((e: unknown) =>
          log.debug('the writer thread did not close cleanly', { err: e as Error }),
        );
        await thread
          .terminate()
          .catch((e: unknown) => log.debug('terminating the writer thread failed', { err: e as Error }));
      }
      idle = [];
      local?.close();
      db.close();
    },
  };
  return store;
}
