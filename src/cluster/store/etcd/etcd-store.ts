import { createRequire } from 'node:module';
import type { Etcd3, IKeyValue, IRangeResponse, ITxnRequest, ITxnResponse, Watcher } from 'etcd3';
import { BerthError, type ErrorCode } from '../../../core/errors.js';
import { logger } from '../../../core/log.js';
import { prefixEnd, storeErrors } from '../errors.js';
import type { KeyValue, ListResult, Store, Watch, WatchEvent } from '../store.js';

const require = createRequire(import.meta.url);
const log = logger('etcd-store');

/** Options for {@link openEtcdStore}. */
export interface EtcdStoreOptions {
  /** Client URLs, e.g. `['http://127.0.0.1:2379']`. */
  hosts: string[];
  /** Every key is stored under this prefix, so clusters can share an etcd. Default: `/berth`. */
  root?: string;
  /** Per-call deadline in milliseconds. Default: 10,000. */
  timeoutMs?: number;
}

/**
 * The datastore on a real etcd cluster (v3 API via the `etcd3` package). etcd already has the
 * contract's semantics, so each operation maps onto one call: conditional writes are
 * transactions comparing a key's create or mod revision, lists are ranges (at a revision for
 * consistent pages), watches start at `after + 1` with previous values.
 */
export function openEtcdStore(options: EtcdStoreOptions): Store {
  const { Etcd3: Client } = require('etcd3') as typeof import('etcd3');
  const client: Etcd3 = new Client({
    hosts: options.hosts,
    dialTimeout: options.timeoutMs ?? 10_000,
    // gRPC's default 4 MiB answer limit is smaller than one page of big objects (up to 1.5 MB each).
    grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
  });
  const root = options.root ?? '/berth';
  const enc = (k: string) => Buffer.from(root + k);
  const dec = (b: Buffer) => b.toString().slice(root.length);
  let compacted = 0;
  const page = 500;

  const kvOf = (kv: IKeyValue): KeyValue => ({
    key: dec(kv.key),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  });

  // etcd reports these conditions as gRPC errors with its own words; give them our codes.
  function mapError(e: unknown, revision?: number): Error {
    const msg = (e as Error)?.message ?? String(e);
    if (/compacted/.test(msg)) return storeErrors.compacted(revision ?? 0, compacted);
    if (/future revision/.test(msg))
      return new BerthError('InvalidArgument', `Revision ${revision} is in the future`);
    const code: ErrorCode = /unavailable|connect|ECONNREFUSED|deadline|timed out/i.test(msg)
      ? 'Unavailable'
      : 'Internal';
    return new BerthError(code, `etcd (${options.hosts.join(',')}): ${msg}`, { cause: e });
  }

  async function range(key: string, extra: Record<string, unknown> = {}): Promise<IRangeResponse> {
    try {
      return await client.kv.range({ key: enc(key), ...extra });
    } catch (e) {
      throw mapError(e, extra.revision ? Number(extra.revision) : undefined);
    }
  }

  async function txn(request: ITxnRequest): Promise<ITxnResponse> {
    try {
      return await client.kv.txn(request);
    } catch (e) {
      throw mapError(e);
    }
  }

  /** Why a write guarded by the key's revision failed: the key is gone, or it has moved on. */
  function guardFailed(key: string, expected: number, r: ITxnResponse): Error {
    const cur = r.responses[0]?.response_range?.kvs?.[0];
    return cur ? storeErrors.conflict(key, expected, Number(cur.mod_revision)) : storeErrors.missing(key);
  }

  async function current(key: string): Promise<KeyValue | undefined> {
    const r = await range(key);
    return r.kvs[0] ? kvOf(r.kvs[0]) : undefined;
  }

  const store: Store = {
    get: current,
    async list(prefix, opts = {}): Promise<ListResult> {
      const want = opts.limit && opts.limit > 0 ? opts.limit : Number.POSITIVE_INFINITY;
      const items: KeyValue[] = [];
      let after = opts.startAfter;
      let revision = opts.revision ?? 0;
      let more = false;
      let remaining = 0;
      // Read in pages of at most `page` keys at one revision: one range answer must fit in a
      // gRPC message, and 10,000 pods do not; the pages together are one consistent list.
      do {
        const n = Math.min(page, want - items.length);
        const r = await range(after ? `${after}\0` : prefix, {
          range_end: enc(prefixEnd(prefix)),
          limit: String(n),
          ...(revision ? { revision: String(revision) } : {}),
        });
        if (!revision) revision = Number(r.header.revision);
        for (const kv of r.kvs) items.push(kvOf(kv));
        more = r.more;
        remaining = Number(r.count) - r.kvs.length;
        after = items.at(-1)?.key;
      } while (more && items.length < want);
      const result: ListResult = { items, revision, more };
      if (more) result.remaining = remaining;
      return result;
    },
    async revision() {
      const r = await range('/', { count_only: true });
      return Number(r.header.revision);
    },
    async count(prefix) {
      const r = await range(prefix, { range_end: enc(prefixEnd(prefix)), count_only: true });
      return Number(r.count);
    },
    async create(key, value) {
      const r = await txn({
        compare: [{ key: enc(key), target: 'Create', result: 'Equal', create_revision: '0' }],
        success: [{ request_put: { key: enc(key), value: Buffer.from(value) } }],
        failure: [],
      });
      if (!r.succeeded) throw storeErrors.exists(key);
      const rev = Number(r.header.revision);
      return { key, value, createRevision: rev, modRevision: rev };
    },
    async update(key, value, expected) {
      const r = await txn({
        compare: [{ key: enc(key), target: 'Mod', result: 'Equal', mod_revision: String(expected) }],
        success: [{ request_put: { key: enc(key), value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: enc(key) } }],
      });
      if (!r.succeeded) throw guardFailed(key, expected, r);
      const prev = r.responses[0]?.response_put?.prev_kv;
      const rev = Number(r.header.revision);
      return { key, value, createRevision: prev ? Number(prev.create_revision) : rev, modRevision: rev };
    },
    async delete(key, expected) {
      const r = await txn({
        compare:
          expected === undefined
            ? [{ key: enc(key), target: 'Create', result: 'Greater', create_revision: '0' }]
            : [{ key: enc(key), target: 'Mod', result: 'Equal', mod_revision: String(expected) }],
        success: [{ request_delete_range: { key: enc(key), prev_kv: true } }],
        failure: [{ request_range: { key: enc(key) } }],
      });
      if (!r.succeeded) throw guardFailed(key, expected ?? 0, r);
      const prev = r.responses[0]?.response_delete_range?.prev_kvs?.[0];
      if (!prev) throw storeErrors.missing(key);
      return kvOf(prev);
    },
    watch(prefix, afterRevision, handlers): Watch {
      // A watch that ends (closed, or failed) needs no answer from etcd, but a cancel that
      // fails is still worth a line when debugging a connection.
      const cancel = (w: Watcher | undefined) => {
        w?.cancel().catch((e: unknown) =>
          log.debug('cancelling a watch failed', { prefix, err: e as Error }),
        );
      };
      let closed = false;
      let watcher: Watcher | undefined;
      const fail = (e: unknown) => {
        if (closed) return;
        closed = true;
        cancel(watcher);
        handlers.onError(mapError(e, afterRevision));
      };
      if (afterRevision < compacted) {
        setImmediate(() => fail(new Error('required revision has been compacted')));
        return { close: () => {} };
      }
      client
        .watch()
        .prefix(root + prefix)
        .startRevision(String(afterRevision + 1))
        .withPreviousKV()
        .create()
        .then((w) => {
          watcher = w;
          if (closed) {
            cancel(w);
            return;
          }
          w.on('data', (res) => {
            if (closed || res.events.length === 0) return;
            const events: WatchEvent[] = res.events.map((ev) => {
              const prevKv = ev.prev_kv ? kvOf(ev.prev_kv) : undefined;
              if (ev.type === 'Delete') {
                const base = prevKv ?? { key: dec(ev.kv.key), value: '', createRevision: 0, modRevision: 0 };
                return { type: 'delete', kv: { ...base, modRevision: Number(ev.kv.mod_revision) }, prevKv };
              }
              return { type: 'put', kv: kvOf(ev.kv), ...(prevKv ? { prevKv } : {}) };
            });
            handlers.onEvents(events);
          });
          w.on('error', fail);
        })
        .catch(fail);
      return {
        close() {
          closed = true;
          cancel(watcher);
        },
      };
    },
    async compact(rev) {
      try {
        await client.kv.compact({ revision: String(rev), physical: true });
      } catch (e) {
        if (!/compacted/.test((e as Error).message)) throw mapError(e);
      }
      compacted = Math.max(compacted, rev);
    },
    async compactedRevision() {
      return compacted;
    },
    async close() {
      client.close();
    },
  };
  return store;
}
