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
  private readonly adds: Handler[] = [];
  private readonly updates: Handler[] = [];
  private readonly deletes: Handler[] = [];
  private stopWatch?: () => void;
  private stopped = false;
  private rv = '';
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    readonly resource: Resource,
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
    this.stopWatch?.();
  }

  private async relist(): Promise<void> {
    while (!this.stopped) {
      try {
        const list = await this.client.list(this.resource);
        const seen = new Set<string>();
        for (const item of list.items) {
          const k = keyOf(item);
          seen.add(k);
          const old = this.cache.get(k);
          this.cache.set(k, item);
          if (!old) for (const h of this.adds) h(item);
          else if (old.metadata.resourceVersion !== item.metadata.resourceVersion)
            for (const h of this.updates) h(item, old);
        }
        for (const [k, old] of this.cache) {
          if (!seen.has(k)) {
            this.cache.delete(k);
            for (const h of this.deletes) h(old);
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
        await new Promise((r) => setTimeout(r, 1000));
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
    );
  }

  private apply(ev: WatchEvent): void {
    if (ev.object.metadata?.resourceVersion) this.rv = ev.object.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') return;
    const k = keyOf(ev.object);
    const old = this.cache.get(k);
    if (ev.type === 'DELETED') {
      this.cache.delete(k);
      for (const h of this.deletes) h(ev.object);
      return;
    }
    this.cache.set(k, ev.object);
    if (!old) for (const h of this.adds) h(ev.object);
    else for (const h of this.updates) h(ev.object, old);
  }
}
