/**
 * The engine's handle on one store: its folders, its database and the stores over it.
 * Opened once by the engine facade (engine.ts) and passed to every operation.
 */
import { ensurePrivateDir } from '../../core/private-path.js';
import { EventJournal } from '../events/journal.js';
import { type ImageStore, imageStoreOn } from '../image/image-store.js';
import { NetworkStore } from '../network/network-store.js';
import { type EngineDb, openEngineDb } from '../state/db.js';
import { VolumeStore } from '../volume/store.js';
import type { StorePaths } from './paths.js';
import { ContainerStore } from './store.js';

/** What engine operations take. */
export interface EngineContext extends StorePaths {
  db: EngineDb;
  containers: ContainerStore;
  volumes: VolumeStore;
  networks: NetworkStore;
  images: ImageStore;
  events: EventJournal;
  /**
   * The argv that runs this Berth again (`[node, '--', entry]`), for the processes the engine
   * leaves behind: conmon's exit command and the DNS server. The front end knows it; the
   * engine never reads its own process's argv.
   */
  self: readonly string[];
}

/** Opens the store at `paths` (creating it when new). */
export function openContext(paths: StorePaths, self: readonly string[]): EngineContext {
  const db = openEngineDb(paths.root);
  // Bundles (with each container's environment), sockets and exit files: root only.
  ensurePrivateDir(paths.runroot);
  return {
    root: paths.root,
    runroot: paths.runroot,
    db,
    containers: new ContainerStore(db),
    volumes: new VolumeStore(db, paths.root),
    networks: new NetworkStore(db),
    images: imageStoreOn(paths.root, db),
    events: new EventJournal(db),
    self,
  };
}
