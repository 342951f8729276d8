/** Which containers use a volume, and pruning the unused ones. */
import type { EngineContext } from '../container/context.js';

/** IDs of the containers (any state) that mount volume `name`. */
export function volumeUsers(ctx: EngineContext, name: string): string[] {
  return ctx.containers
    .list()
    .filter((c) => c.config.mounts.some((m) => m.type === 'volume' && m.source === name))
    .map((c) => c.id);
}

/** Removes unused anonymous volumes (all unused ones with `all`); returns their names. */
export function pruneVolumes(
  ctx: EngineContext,
  all: boolean,
  match?: (o: { created: string; labels: Record<string, string> }) => boolean,
): string[] {
  const used = new Set(
    ctx.containers
      .list()
      .flatMap((c) => c.config.mounts.filter((m) => m.type === 'volume').map((m) => m.source)),
  );
  const removed: string[] = [];
  for (const v of ctx.volumes.list()) {
    if (used.has(v.Name) || (!all && !v.Anonymous)) continue;
    if (match && !match({ created: v.CreatedAt, labels: v.Labels })) continue;
    ctx.volumes.remove(v.Name, [], true);
    removed.push(v.Name);
  }
  return removed;
}
