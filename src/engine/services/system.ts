/** The engine facade's engine-wide operations: info, disk use, prune, and the event journal. */
import { invalidArgument, isNotFound, notFound } from '../../core/errors.js';
import type { EngineContext } from '../container/context.js';
import { type DiskUse, diskUsage, engineInfo } from '../container/system.js';
import { checkEventFilters, type EngineEvent, type EventQuery } from '../events/journal.js';
import type { RemoveReport } from '../image/remove.js';
import type { VolumePruneReport } from '../volume/usage.js';
import type { ContainerService, PruneReport } from './containers.js';
import type { ImageService } from './images.js';
import type { NetworkService } from './networks.js';
import type { VolumeService } from './volumes.js';

/** What `system prune` removed, in Docker's order. */
export interface SystemPruneReport {
  containers: PruneReport;
  networks: string[];
  images: { reports: RemoveReport[]; spaceReclaimed: number };
  volumes: VolumePruneReport;
}

/** Engine-wide operations of the engine facade. */
export class SystemService {
  constructor(
    private readonly ctx: EngineContext,
    private readonly containers: ContainerService,
    private readonly volumes: VolumeService,
    private readonly images: ImageService,
    private readonly networks: NetworkService,
  ) {}

  /** `docker info`-like facts about this engine and host. */
  info(): Promise<Record<string, unknown>> {
    return engineInfo(this.ctx);
  }

  /** Disk use of containers and volumes. */
  df(): Promise<DiskUse[]> {
    return diskUsage(this.ctx);
  }

  /**
   * Docker's `system prune`: stopped containers, then networks no container uses, then
   * dangling images (every unused one with `all`), and with `volumes` unused anonymous
   * volumes. Containers go first so what they held becomes unused.
   */
  async prune(o: { volumes?: boolean; all?: boolean } = {}): Promise<SystemPruneReport> {
    const containers = await this.containers.prune();
    const networks = await this.networks.prune();
    const images = await this.images.prune({ all: o.all });
    return {
      containers,
      networks,
      images,
      volumes: o.volumes ? this.volumes.prune() : { deleted: [], spaceReclaimed: 0 },
    };
  }

  /**
   * Docker's top-level `inspect`: the container, image, network or volume `ref` names, tried
   * in Docker's order (or only `type`); none is "No such object: REF".
   */
  async inspect(ref: string, type?: string): Promise<unknown> {
    const kinds: [string, () => unknown][] = [
      ['container', () => this.containers.inspect(ref)],
      ['image', () => this.images.inspect(ref)],
      ['network', () => this.networks.inspect(ref)],
      ['volume', () => this.volumes.inspect(ref)],
    ];
    if (type !== undefined && !kinds.some(([k]) => k === type))
      throw invalidArgument(`"${type}" is not a valid value for --type`);
    for (const [kind, get] of kinds) {
      if (type !== undefined && kind !== type) continue;
      try {
        return await get();
      } catch (e) {
        // Asked for one kind, its own message ("No such container: X") says it best.
        if (!isNotFound(e) || type !== undefined) throw e;
      }
    }
    throw notFound(`No such object: ${ref}`);
  }

  /**
   * Journaled events matching `q`, oldest first, through `emit`; without `q.until` it then
   * follows new events until `signal` aborts (with neither bound: new events only).
   */
  async events(q: EventQuery, emit: (e: EngineEvent) => void, signal?: AbortSignal): Promise<void> {
    checkEventFilters(q.filters ?? {});
    // As Docker's: with neither bound, only events from now on.
    if (q.since === undefined && q.until === undefined) q = { ...q, since: Date.now() };
    if (q.until !== undefined && q.until <= Date.now()) {
      for (const e of this.ctx.events.list(q)) emit(e);
      return;
    }
    await this.ctx.events.follow(q, emit, signal);
  }
}
