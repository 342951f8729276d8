/** The engine facade's volume operations (Docker's `volume` commands), each journaled. */
import type { EngineContext } from '../container/context.js';
import { du } from '../container/system.js';
import type { Volume } from '../volume/store.js';
import { pruneVolumes, type VolumePruneReport, volumeUsers } from '../volume/usage.js';

/** Volume operations of the engine facade. */
export class VolumeService {
  constructor(private readonly ctx: EngineContext) {}

  /** Creates a named volume (a generated name when `name` is empty). */
  create(name: string, o: { labels?: Record<string, string> } = {}): Volume {
    const v = this.ctx.volumes.create(name, { labels: o.labels ?? {} });
    this.ctx.events.append('volume', 'create', v.Name, { driver: v.Driver });
    return v;
  }

  /** Bytes the volume's files take (`system df -v`), as dockerd counts them (files only, links not followed). */
  size(name: string): number {
    return du(this.ctx.volumes.get(name).Mountpoint, { filesOnly: true });
  }

  list(): Volume[] {
    return this.ctx.volumes.list();
  }

  inspect(name: string): Volume {
    return this.ctx.volumes.get(name);
  }

  /** Removes a volume no container uses (`force`: even then). */
  remove(name: string, o: { force?: boolean } = {}): void {
    this.ctx.volumes.remove(name, volumeUsers(this.ctx, name), !!o.force);
    this.ctx.events.append('volume', 'destroy', name, { driver: 'local' });
  }

  /** Removes unused anonymous volumes (all unused ones with `all`): their names and bytes. */
  prune(
    o: { all?: boolean; match?: (o: { created: string; labels: Record<string, string> }) => boolean } = {},
  ): VolumePruneReport {
    const report = pruneVolumes(this.ctx, !!o.all, o.match);
    for (const name of report.deleted) this.ctx.events.append('volume', 'destroy', name, { driver: 'local' });
    return report;
  }
}
