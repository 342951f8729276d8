/** Which containers use a volume, and pruning the unused ones. */
import type { EngineContext } from '../container/context.js';
import { du } from '../container/system.js';

/** IDs of the containers (any state) that mount volume `name`. */
export function volumeUsers(ctx: EngineContext, name: string): string[] {
  return ctx.containers
    .list()
    .filter((c) => c.config.mounts.some((m) => m.type === 'volume' && m.source === name))
    .map((c) => c.id);
}

/** What a volume prune removed: the volumes' names and the bytes their files held. */
export interface VolumePruneReport {
  deleted: string[];
  spaceReclaimed: number;
}

/** Removes unused anonymous volumes (all unused ones with `all`). */
export function pruneVolumes(
  ctx: EngineContext,
  all: boolean,
  match?: (o: { created: string; labels: Record<string, string> }) => boolean,
): VolumePruneReport {
  const used = new Set(
    ctx.containers
      .list()
      .flatMap((c) => c.config.mounts.filter((m) => m.type === 'volume').map((m) => m.source)),
  );
  const report: VolumePruneReport = { deleted: [], spaceReclaimed: 0 };
  for (const v of ctx.volumes.list()) {
    if (used.has(v.Name) || (!all && !v.Anonymous)) continue;
    if (match && !match({ created: v.CreatedAt, labels: v.Labels })) continue;
    const bytes = du(v.Mountpoint, { filesOnly: true });
    ctx.volumes.remove(v.Name, [], true);
    report.deleted.push(v.Name);
    report.spaceReclaimed += bytes;
  }
  return report;
}
