/**
 * The engine's handle on one store: its folders, its database and the tables the container
 * commands use. Opened once per command.
 */
import { ensurePrivateDir } from '../../core/private-path.js';
import { type EngineDb, openEngineDb } from '../state/db.js';
import { VolumeStore } from '../volume/store.js';
import type { StorePaths } from './paths.js';
import { ContainerStore } from './store.js';

/** What container operations take. */
export interface EngineContext extends StorePaths {
  db: EngineDb;
  containers: ContainerStore;
  volumes: VolumeStore;
}

/** Opens the store at `paths` (creating it when new). */
export function openContext(paths: StorePaths): EngineContext {
  const db = openEngineDb(paths.root);
  // Bundles (with each container's environment), sockets and exit files: root only.
  ensurePrivateDir(paths.runroot);
  return { ...paths, db, containers: new ContainerStore(db), volumes: new VolumeStore(db, paths.root) };
}
