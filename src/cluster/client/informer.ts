import { setTimeout as sleep } from 'node:timers/promises';
import { isGone } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { KubeClient, KubeObject, Resource, WatchEvent } from './kube-client.js';

const log = logger('informer');

export type Handler = (obj: KubeObject, old?: KubeObject) => void;

/** `namespace/name`, or `name` for cluster-scoped objects: the key controllers queue. */
export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : (obj.metadata.name ?? '');
}

/**
 * A list-watch cache of one resource (after client-go's shared informer): lists, then
 * watches from the list's resourceVersion; on 410 Gone or a dropped stream it relists and
 * tells handlers about what changed meanwhile. Handlers must not mutate the objects.
 */
export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  /** Indexes (client-go's Indexers): name -> function and value -> keys. */
  private readonly indexFns = new Map<string, (o: KubeObject) => string[]>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly adds: Handler[] = [];
  private readonly updates: Handler[] = [];
  private readonly deletes: Handler[] = [];
  private stopWatch?: () => void;
  private stopped = false;
  /** Ends a wait between two list attempts when the informer stops. */
  private readonly stopping = new AbortController();
  private rv = '';
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];

  /**
   * `query` narrows what is listed and watched (`fieldSelector=spec.nodeName%3Dn1`: a node
   * agent caches only its own pods).
   */
  constructor(
    private readonly client: KubeClient,
    readonly resource: Resource,
    private readonly query = '',
  ) {}

  onAdd(h: Handler): this {
    this.adds.push(h);
    return this;
  }
  onUpdate(h: Handler): this {
    this.updates.push(h);
    return this;
  }
  onDelete(h: Handler): this {
    this.deletes.push(h);
    return this;
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  /**
   * Adds an index: `fn` gives the values an object is filed under (its namespace, its
   * controller's uid...), and `byIndex` then answers without scanning the cache. Adding an
   * index twice under one name keeps the first (controllers share informers).
   */
  addIndex(name: string, fn: (o: KubeObject) => string[]): this {
    if (this.indexFns.has(name)) return this;
    this.indexFns.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [k, o] of this.cache) for (const v of fn(o)) this.file(idx, v, k);
    return this;
  }

  /** The cached objects filed under `value` in index `name` (empty if no such index). */
  byIndex(name: string, value: string): KubeObject[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const out: KubeObject[] = [];
    for (const k of keys) {
      const o = this.cache.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  private file(idx: Map<string, Set<string>>, v: string, k: string): void {
    let set = idx.get(v);
    if (!set) {
      set = new Set();
      idx.set(v, set);
    }
    set.add(k);
  }

  /** Keeps the indexes in step with one cache change (old and new value of a key). */
  private reindex(k: string, old: KubeObject | undefined, now: KubeObject | undefined): void {
    for (const [name, fn] of this.indexFns) {
      const idx = this.indexes.get(name)!;
      const before = old ? fn(old) : [];
      const after = now ? fn(now) : [];
      for (const v of before)
        if (!after.includes(v)) {
          const set = idx.get(v);
          set?.delete(k);
          if (set?.size === 0) idx.delete(v);
        }
      for (const v of after) if (!before.includes(v)) this.file(idx, v, k);
    }
  }
  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  /** Resolves once the first list has filled the cache. */
  hasSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  start(): this {
    void this.relist();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
    this.stopWatch?.();
  }

  private async relist(): Promise<void> {
    while (!this.stopped) {
      try {
        const list = await this.client.list(this.resource, undefined, this.query);
        const seen = new Set<string>();
        for (const item of list.items) {
          const k = keyOf(item);
          seen.add(k);
          const old = this.cache.get(k);
          this.cache.set(k, item);
          this.reindex(k, old, item);
          if (!old) this.notify(this.adds, item);
          else if (old.metadata.resourceVersion !== item.metadata.resourceVersion)
            this.notify(this.updates, item, old);
        }
        for (const [k, old] of this.cache) {
          if (!seen.has(k)) {
            this.cache.delete(k);
            this.reindex(k, old, undefined);
            this.notify(this.deletes, old);
          }
        }
        this.rv = list.metadata.resourceVersion;
        if (!this.synced) {
          this.synced = true;
          for (const w of this.syncWaiters.splice(0)) w();
        }
        this.watch();
        return;
      } catch (e) {
        log.warn('list failed; retrying', { resource: this.resource.plural, err: e as Error });
        // A stop during the wait ends it at once: the loop then sees `stopped`.
        await sleep(1000, undefined, { signal: this.stopping.signal }).catch((err: unknown) => {
          if (!this.stopped) throw err;
        });
      }
    }
  }

  private watch(): void {
    if (this.stopped) return;
    this.stopWatch = this.client.watch(
      this.resource,
      this.rv,
      (ev) => this.apply(ev),
      (err) => {
        if (this.stopped) return;
        // Gone: our resourceVersion was compacted; relist. Otherwise resume from where we were.
        if (err && isGone(err)) void this.relist();
        else setTimeout(() => this.watch(), err ? 500 : 0);
      },
      this.query,
    );
  }

  /** Calls each handler; one that throws is logged and neither stops the others nor the watch. */
  private notify(handlers: Handler[], obj: KubeObject, old?: KubeObject): void {
    for (const h of handlers) {
      try {
        h(obj, old);
      } catch (e) {
        log.error('event handler failed', {
          resource: this.resource.plural,
          key: keyOf(obj),
          err: e as Error,
        });
      }
    }
  }

  private apply(ev: WatchEvent): void {
    if (ev.object.metadata?.resourceVersion) this.rv = ev.object.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') return;
    const k = keyOf(ev.object);
    const old = this.cache.get(k);
    if (ev.type === 'DELETED') {
      this.cache.delete(k);
      this.reindex(k, old, undefined);
      this.notify(this.deletes, ev.object);
      return;
    }
    this.cache.set(k, ev.object);
    this.reindex(k, old, ev.object);
    if (!old) this.notify(this.adds, ev.object);
    else this.notify(this.updates, ev.object, old);
  }
}
