/**
 * The snapshotter contract, after containerd's `core/snapshots`: filesystems made of layers,
 * handed out as mounts.
 *
 * Terms:
 * - A **snapshot** is a filesystem, named by a key, that is either **committed** (read-only,
 *   fixed forever, usable as a parent), **active** (writable, being changed) or a **view**
 *   (read-only, never committed).
 * - Every snapshot has a **parent**: the committed snapshot it starts from, or `''` for an empty
 *   filesystem. A committed snapshot cannot be removed while others name it as their parent.
 * - Keys and committed names share one namespace: a name cannot be both.
 * - A **mount** is what the caller passes to mount(2) to see the snapshot. The snapshotter
 *   never mounts anything itself, so its state holds no kernel mounts.
 *
 * Lifecycle, importing a layer: `prepare(tmpKey, parentChainId)` gives an empty active snapshot
 * on top of the layers below; the layer's tar is applied to its mounts (the differ's Applier);
 * `commit(chainId, tmpKey)` makes it a committed snapshot named by the layer's chain ID, so the
 * next layer can name it as its parent. A failed apply calls `remove(tmpKey)`.
 *
 * Lifecycle, running a container: `prepare(containerId, imageTopChainId)` gives the container's
 * writable root filesystem; the runtime mounts what it returns (and, after a restart, what
 * `mounts(containerId)` returns); `remove(containerId)` when the container is removed. To make
 * an image from it, the differ compares the active snapshot with its parent into a new layer,
 * which is imported as above; the container keeps its snapshot.
 *
 * Crash safety: every change is one rename(2) of a complete directory, so a `kill -9` at any
 * moment leaves either the old or the new state; half-made directories carry the pid of their
 * maker and are swept once it is gone (`cleanup`).
 */

/** A mount(2) call: `mount -t TYPE -o OPTIONS SOURCE TARGET`. */
export interface Mount {
  /** `overlay` or `bind`. */
  type: string;
  source: string;
  options: string[];
}

export type SnapshotKind = 'committed' | 'active' | 'view';

/** What the snapshotter records about one snapshot. */
export interface SnapshotInfo {
  kind: SnapshotKind;
  /** The key (active, view) or name (committed). */
  name: string;
  /** The committed snapshot below it, or `''`. */
  parent: string;
  labels: Record<string, string>;
  /** ISO 8601. */
  created: string;
}

/** Disk use of a snapshot's own files (not its parents'). */
export interface SnapshotUsage {
  size: number;
  inodes: number;
}

/**
 * Label of a transient active snapshot (an unpack in progress): the pid of its maker.
 * `cleanup` removes it once that process is gone; `commit` drops the label.
 */
export const OWNER_PID = 'berth.io/owner-pid';

export interface PrepareOptions {
  labels?: Record<string, string>;
}

export interface CommitOptions {
  labels?: Record<string, string>;
  /**
   * Records another parent than the one given at `prepare`. Layers are unpacked in parallel
   * as they download, each on an empty parent, and only then known to stack: a layer's files
   * do not depend on what is below it, so the parent can be named at commit.
   */
  parent?: string;
}

/**
 * Manages snapshots. Errors are BerthErrors: NotFound (no such key or parent), AlreadyExists
 * (the key or name is taken), FailedPrecondition (wrong kind, or a parent still in use).
 */
export interface Snapshotter {
  /** Stats a snapshot by key or name. */
  stat(key: string): Promise<SnapshotInfo>;
  /** Every snapshot, in no particular order. */
  list(): Promise<SnapshotInfo[]>;
  /** Disk use of a snapshot's own layer. */
  usage(key: string): Promise<SnapshotUsage>;
  /** The mounts of an active snapshot or a view. */
  mounts(key: string): Promise<Mount[]>;
  /** Makes a writable snapshot on `parent` (`''` for an empty one) and returns its mounts. */
  prepare(key: string, parent: string, options?: PrepareOptions): Promise<Mount[]>;
  /** Makes a read-only snapshot on `parent`, never to be committed, and returns its mounts. */
  view(key: string, parent: string, options?: PrepareOptions): Promise<Mount[]>;
  /**
   * Turns the active snapshot `key` into the committed snapshot `name`; `key` stops existing.
   * The caller has unmounted it.
   */
  commit(name: string, key: string, options?: CommitOptions): Promise<void>;
  /** Removes a snapshot (any kind; a committed one only when nothing names it as parent). */
  remove(key: string): Promise<void>;
  /**
   * Removes what interrupted operations of processes that are gone left behind, and active
   * snapshots labelled {@link OWNER_PID} whose process is gone.
   */
  cleanup(): Promise<void>;
}
