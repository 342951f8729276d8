/**
 * The cluster datastore contract: a revisioned key-value store with etcd's semantics, which
 * the API server builds Kubernetes' resourceVersion, optimistic concurrency and watch on.
 *
 * Terms:
 * - **revision**: a store-wide counter that every successful write (create, update, delete)
 *   advances by exactly one. It is the Kubernetes `resourceVersion`.
 * - **modRevision** of a key: the revision of the write that last changed it;
 *   **createRevision**: the revision that created it (reset when a key is deleted and made again).
 * - **compaction**: history at or below a revision is dropped. Reads and watches that ask for
 *   a revision older than the compacted one fail with a `Gone` BerthError ("too old"), which
 *   the API server turns into 410 Expired.
 *
 * Lifecycle of an object: `create` (AlreadyExists if the key exists), then `update` with the
 * modRevision the caller read (Conflict if someone wrote in between; NotFound if deleted),
 * then `delete`, optionally guarded by a modRevision. Watchers see each of these as an event,
 * in revision order, with no gaps.
 *
 * Every implementation (SQLite in `sqlite/`, etcd in `etcd/`) passes the shared suite in
 * `store-conformance.ts`.
 */
export interface KeyValue {
  key: string;
  /** The stored value; the API server stores JSON text. */
  value: string;
  createRevision: number;
  modRevision: number;
}

export type WatchEventType = 'put' | 'delete';

export interface WatchEvent {
  type: WatchEventType;
  /** For `put`: the new value. For `delete`: the last value, with modRevision set to the delete's revision. */
  kv: KeyValue;
  /** The value before this event, when there was one. */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** At most this many items; 0 or absent means all. */
  limit?: number;
  /** Start strictly after this key (pagination; the key of the last item of the previous page). */
  startAfter?: string;
  /** Read as of this revision (for consistent pages); Gone if compacted. Default: now. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** Whether keys with this prefix remain after the last item. */
  more: boolean;
  /** How many keys remain after this page, when `more` (Kubernetes' remainingItemCount). */
  remaining?: number;
}

/** A running watch; `close` stops delivery and frees it. */
export interface Watch {
  close(): void;
}

export interface WatchHandlers {
  /** Events in revision order. Called with batches so a burst costs one call. */
  onEvents(events: WatchEvent[]): void;
  /** The watch failed (Gone when its revision was compacted, Unavailable when the backend went away). No more events follow. */
  onError(err: Error): void;
}

/** Read access: what informers and GET/LIST need. */
export interface StoreReader {
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** The store's current revision. */
  revision(): Promise<number>;
  /** How many keys have this prefix now. */
  count(prefix: string): Promise<number>;
}

/** Writes: every one is atomic and advances the revision by one. */
export interface StoreWriter {
  /** AlreadyExists if the key exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Conflict if the key's modRevision is not `expectedModRevision`; NotFound if it is absent. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Returns the deleted value. NotFound if absent; Conflict if `expectedModRevision` is given and differs. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
}

export interface StoreWatcher {
  /** Events for keys with this prefix whose revision is greater than `afterRevision`. Gone (through onError) if that is compacted. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch;
}

export interface StoreManager {
  /** Drops history at or below `revision` (never the live values). */
  compact(revision: number): Promise<void>;
  /** The highest compacted revision (0 when none). */
  compactedRevision(): Promise<number>;
  close(): Promise<void>;
}

export type Store = StoreReader & StoreWriter & StoreWatcher & StoreManager;
