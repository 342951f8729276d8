/**
 * The store as the API server sees it when encryption at rest is on: values under the
 * configured resources' key prefixes are encrypted on every write and decrypted on every read,
 * list, delete and watch event, so REST storage, watches, allocators and bootstrap code read
 * plain objects without knowing, and nothing plain reaches the datastore. Other keys pass
 * through untouched.
 */
import type { KeyValue, ListOptions, ListResult, Store, Watch, WatchHandlers } from '../../store/store.js';
import type { EncryptionConfiguration } from './encryption-config.js';
import { transformerFor, type ValueTransformer } from './transformer.js';

/** The key prefix a configured resource name covers (`secrets`, `deployments.apps`, `*.apps`, `*.*`). */
export function resourceKeyPrefix(resource: string): string {
  if (resource === '*.*') return '/registry/';
  const dot = resource.indexOf('.');
  const plural = dot < 0 ? resource : resource.slice(0, dot);
  const group = dot < 0 ? '' : resource.slice(dot + 1);
  const base = `/registry/${group || 'core'}/`;
  return plural === '*' ? base : `${base}${plural}/`;
}

/** Which transformer applies to which key prefix; the first entry that covers a key wins. */
export interface EncryptionRules {
  rules: { prefix: string; transformer: ValueTransformer }[];
}

export function encryptionRules(config: EncryptionConfiguration): EncryptionRules {
  return {
    rules: config.resources.flatMap((r) => {
      const transformer = transformerFor(r.providers);
      return r.resources.map((name) => ({ prefix: resourceKeyPrefix(name), transformer }));
    }),
  };
}

export class EncryptedStore implements Store {
  // Every watcher of a key gets one decrypted KeyValue per stored one, so the watch path's
  // per-event decode cache (keyed by the KeyValue) still serves all of them; weak, so the
  // store's own lifetime for that value decides.
  private readonly plain = new WeakMap<KeyValue, KeyValue>();

  constructor(
    /** The datastore itself; rotation reads its stored (encrypted) values. */
    readonly inner: Store,
    private rules: EncryptionRules,
  ) {}

  /** Swaps the configuration (after a key rotation step); later writes use its first key. */
  setRules(rules: EncryptionRules): void {
    this.rules = rules;
  }

  /** The transformer that covers `key`, if any. */
  transformerFor(key: string): ValueTransformer | undefined {
    for (const r of this.rules.rules) if (key.startsWith(r.prefix)) return r.transformer;
    return undefined;
  }

  private out = (kv: KeyValue): KeyValue => {
    const t = this.transformerFor(kv.key);
    if (!t || kv.value === '') return kv;
    let p = this.plain.get(kv);
    if (!p) {
      p = { ...kv, value: t.fromStorage(kv.value, kv.key) };
      this.plain.set(kv, p);
    }
    return p;
  };

  private in(key: string, value: string): string {
    return this.transformerFor(key)?.toStorage(value, key) ?? value;
  }

  /** A value as given back for a write: the caller's plain value, with the store's revisions. */
  private wrote = (kv: KeyValue, value: string): KeyValue => ({ ...kv, value });

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.out(kv);
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    const r = await this.inner.list(prefix, options);
    return { ...r, items: r.items.map(this.out) };
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  count(prefix: string): Promise<number> {
    return this.inner.count(prefix);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.wrote(await this.inner.create(key, this.in(key, value)), value);
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.wrote(await this.inner.update(key, this.in(key, value), expectedModRevision), value);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.out(await this.inner.delete(key, expectedModRevision));
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    return this.inner.watch(prefix, afterRevision, {
      onEvents: (events) => {
        let plain: typeof events;
        try {
          plain = events.map((ev) => ({
            ...ev,
            kv: this.out(ev.kv),
            ...(ev.prevKv ? { prevKv: this.out(ev.prevKv) } : {}),
          }));
        } catch (e) {
          handlers.onError(e as Error);
          return;
        }
        handlers.onEvents(plain);
      },
      onError: (err) => handlers.onError(err),
    });
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
