/**
 * An in-memory {@link Store}: a TEST DOUBLE for unit tests of the API server, and the
 * stand-in datastore until the SQLite backend lands. It keeps every revision of every key
 * in one append-only log, like kine's table, so watches from a revision and compaction
 * behave as the real backends do. Nothing survives the process.
 */
import { alreadyExists, BerthError, conflict, notFound } from '../../core/errors.js';
import type { KeyValue, ListOptions, ListResult, Store, Watch, WatchEvent, WatchHandlers } from './store.js';

interface Watcher {
  prefix: string;
  handlers: WatchHandlers;
}

/** Makes an empty in-memory store at revision 1 (etcd starts there too). */
export function memoryStore(): Store {
  let rev = 1;
  let compacted = 0;
  const live = new Map<string, KeyValue>();
  const log: WatchEvent[] = [];
  const watchers = new Set<Watcher>();

  const gone = (r: number) =>
    new BerthError(
      'Gone',
      `The requested revision ${r} has been compacted (oldest available is ${compacted + 1})`,
    );

  function emit(ev: WatchEvent): void {
    log.push(ev);
    for (const w of watchers) if (ev.kv.key.startsWith(w.prefix)) w.handlers.onEvents([ev]);
  }

  function valueAt(key: string, revision: number): KeyValue | undefined {
    let found: KeyValue | undefined;
    for (const ev of log) {
      if (ev.kv.modRevision > revision) break;
      if (ev.kv.key === key) found = ev.type === 'put' ? ev.kv : undefined;
    }
    return found;
  }

  return {
    async get(key) {
      return live.get(key);
    },
    async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
      const at = options.revision && options.revision > 0 ? options.revision : rev;
      // Reading now never fails: compaction leaves every live key's latest value.
      if (at <= compacted && at !== rev) throw gone(at);
      let keys: string[];
      if (at === rev) keys = [...live.keys()].filter((k) => k.startsWith(prefix));
      else keys = [...new Set(log.map((e) => e.kv.key))].filter((k) => k.startsWith(prefix));
      keys.sort();
      if (options.startAfter) keys = keys.filter((k) => k > (options.startAfter as string));
      const items: KeyValue[] = [];
      let i = 0;
      for (; i < keys.length; i++) {
        const kv = at === rev ? live.get(keys[i] as string) : valueAt(keys[i] as string, at);
        if (!kv) continue;
        if (options.limit && items.length >= options.limit) break;
        items.push(kv);
      }
      const rest = keys.slice(i).length;
      return { items, revision: at, more: rest > 0, ...(rest > 0 ? { remaining: rest } : {}) };
    },
    async revision() {
      return rev;
    },
    async count(prefix) {
      let n = 0;
      for (const k of live.keys()) if (k.startsWith(prefix)) n++;
      return n;
    },
    async create(key, value) {
      if (live.has(key)) throw alreadyExists(`Key ${key} already exists`);
      rev++;
      const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
      live.set(key, kv);
      emit({ type: 'put', kv });
      return kv;
    },
    async update(key, value, expected) {
      const prev = live.get(key);
      if (!prev) throw notFound(`Key ${key} not found`);
      if (prev.modRevision !== expected)
        throw conflict(`Key ${key} is at revision ${prev.modRevision}, not ${expected}`);
      rev++;
      const kv: KeyValue = { key, value, createRevision: prev.createRevision, modRevision: rev };
      live.set(key, kv);
      emit({ type: 'put', kv, prevKv: prev });
      return kv;
    },
    async delete(key, expected) {
      const prev = live.get(key);
      if (!prev) throw notFound(`Key ${key} not found`);
      if (expected !== undefined && prev.modRevision !== expected)
        throw conflict(`Key ${key} is at revision ${prev.modRevision}, not ${expected}`);
      rev++;
      live.delete(key);
      emit({ type: 'delete', kv: { ...prev, modRevision: rev }, prevKv: prev });
      return prev;
    },
    watch(prefix, afterRevision, handlers): Watch {
      const w: Watcher = { prefix, handlers };
      if (afterRevision > 0 && afterRevision < compacted) {
        queueMicrotask(() => handlers.onError(gone(afterRevision)));
        return { close() {} };
      }
      let closed = false;
      // Backlog and live delivery start in one turn, so no event falls between them.
      queueMicrotask(() => {
        if (closed) return;
        const backlog = log.filter((e) => e.kv.modRevision > afterRevision && e.kv.key.startsWith(prefix));
        if (backlog.length) handlers.onEvents(backlog);
        watchers.add(w);
      });
      return {
        close() {
          closed = true;
          watchers.delete(w);
        },
      };
    },
    async compact(revision) {
      if (revision <= compacted) return;
      compacted = Math.min(revision, rev);
      // Keep the newest event of each live key, so reads "as of now" still work.
      for (let i = log.length - 1; i >= 0; i--) {
        const ev = log[i] as WatchEvent;
        if (ev.kv.modRevision <= compacted && live.get(ev.kv.key)?.modRevision !== ev.kv.modRevision)
          log.splice(i, 1);
      }
    },
    async compactedRevision() {
      return compacted;
    },
    async close() {
      watchers.clear();
    },
  };
}
