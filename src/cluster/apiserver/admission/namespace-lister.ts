/**
 * What an admission plugin reads of one namespaced kind for every write (the LimitRanges and
 * ResourceQuotas of the write's namespace), kept in memory the way Kubernetes' admission
 * plugins read from informer listers instead of the datastore: nearly every namespace has
 * none, and a store list per pod create, status update and event cost the API server a tenth
 * of its CPU under load.
 *
 * A namespace's entry is filled by a read of the store and dropped when anything under the
 * prefix changes: at once for writes through this API server (`invalidate`, from the
 * admission chain's `written` hook and from a plugin's own store writes), and through a
 * store watch for every other writer (the controllers' direct writes, another API server on
 * the same etcd), as upstream's lister catches up through its watch. A fill that was under
 * way while the entry was dropped is not kept, and while the watch is down nothing is kept.
 */
import { logger } from '../../../core/log.js';
import { decode } from '../../api/objects.js';
import type { KubeObject } from '../../api/selectors.js';
import type { KeyValue, Store, Watch } from '../../store/store.js';

const log = logger('admission');
/** Namespaces remembered at most; past it, all are read again. */
const maxEntries = 10_000;

/** A stored object and its decoded form (shared between requests: read, never change, it). */
export interface Listed {
  kv: KeyValue;
  object: KubeObject;
}

export class NamespaceLister {
  private readonly entries = new Map<string, Listed[]>();
  /** Bumped by every drop, so a fill that raced with one is not kept. */
  private generation = 0;
  private watch?: Watch;
  private starting?: Promise<void>;

  /** `prefix` is the kind's key prefix, `/registry/GROUP/PLURAL/`. */
  constructor(
    private readonly store: Store,
    private readonly prefix: string,
  ) {}

  /** The namespace's objects, from memory when nothing changed since they were read. */
  async list(namespace: string): Promise<Listed[]> {
    if (!this.watch) await this.startWatch();
    const hit = this.entries.get(namespace);
    if (hit) return hit;
    const generation = this.generation;
    const items = await this.read(namespace);
    if (this.watch && generation === this.generation) {
      // Namespaces come and go (test suites make thousands): memory stays bounded.
      if (this.entries.size >= maxEntries) this.entries.clear();
      this.entries.set(namespace, items);
    }
    return items;
  }

  /** The namespace's objects as the store has them now, bypassing (and not filling) memory. */
  async read(namespace: string): Promise<Listed[]> {
    const { items } = await this.store.list(`${this.prefix}${namespace}/`);
    return items.map((kv) => ({ kv, object: decode(kv) }));
  }

  /** Forgets what was read of `namespace` (of every namespace when absent). */
  invalidate(namespace?: string): void {
    this.generation++;
    if (namespace === undefined) this.entries.clear();
    else this.entries.delete(namespace);
  }

  close(): void {
    this.watch?.close();
    this.watch = undefined;
    this.invalidate();
  }

  private startWatch(): Promise<void> {
    this.starting ??= (async () => {
      try {
        const from = await this.store.revision();
        this.watch = this.store.watch(this.prefix, from, {
          onEvents: (events) => {
            for (const ev of events) this.invalidate(ev.kv.key.slice(this.prefix.length).split('/')[0]);
          },
          onError: (err) => {
            // Compacted past or the store went away: read the store until a new watch runs.
            log.debug('admission cache watch ended', { prefix: this.prefix, err });
            this.watch = undefined;
            this.invalidate();
          },
        });
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }
}
