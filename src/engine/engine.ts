/**
 * The engine as one library facade, in the spirit of Podman's `ContainerEngine`: every front
 * end (the `berth` CLI today; the node agent, the Docker API socket and the image builder
 * next) opens one {@link Engine}, calls its typed operations and closes it. The engine owns
 * the database and the stores over it; streams are arguments (never this process's stdio);
 * long operations take `{ signal }`; every state change is recorded in the event journal.
 *
 * Each service is a thin layer over src/engine/{container,image,registry,network,volume}:
 * the logic lives there, the services only compose it and journal what happened.
 */
import { type EngineContext, openContext } from './container/context.js';
import type { StorePaths } from './container/paths.js';
import { ContainerService } from './services/containers.js';
import { ImageService } from './services/images.js';
import { NetworkService } from './services/networks.js';
import { SystemService } from './services/system.js';
import { VolumeService } from './services/volumes.js';

export type { PathStat } from './container/archive.js';
export type { CommitOptions } from './container/commit.js';
export type { Change } from './container/diff.js';
export type { ContainerStreams, TerminalSize } from './container/streams.js';
export type { EngineEvent, EventQuery } from './events/journal.js';
export type { Credentials } from './registry/auth-file.js';
export type { ContainerService, ImageSource, PruneReport } from './services/containers.js';
export type { ImageService, TransferOptions } from './services/images.js';
export type { NetworkService } from './services/networks.js';
export type { SystemService } from './services/system.js';
export type { VolumeService } from './services/volumes.js';

/** Where the engine keeps its state, and how it runs itself again. */
export interface EngineOptions extends StorePaths {
  /**
   * The argv that runs this Berth (`[node, '--', entry script]`, see src/core/self-command.ts).
   * The engine leaves processes behind that call back into Berth: conmon's exit command
   * (`container cleanup`) and the DNS server for user networks. Only the front end knows
   * how it was started.
   */
  self: readonly string[];
}

/** One open engine: its services, and `close`. */
export interface Engine {
  readonly containers: ContainerService;
  readonly images: ImageService;
  readonly volumes: VolumeService;
  readonly networks: NetworkService;
  readonly system: SystemService;
  /** The store handle the services share (for engine-internal helpers and tests). */
  readonly context: EngineContext;
  /** Closes the database; the engine is unusable afterwards. */
  close(): void;
}

/** Opens the engine at `o.root` / `o.runroot` (creating the store when new). */
export function openEngine(o: EngineOptions): Engine {
  const ctx = openContext({ root: o.root, runroot: o.runroot }, o.self);
  const containers = new ContainerService(ctx);
  const volumes = new VolumeService(ctx);
  const images = new ImageService(ctx);
  const networks = new NetworkService(ctx);
  return {
    containers,
    images,
    volumes,
    networks,
    system: new SystemService(ctx, containers, volumes, images, networks),
    context: ctx,
    close: () => ctx.db.close(),
  };
}
