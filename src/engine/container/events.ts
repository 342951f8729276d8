/** Container events for the engine's journal, with Docker's attributes (labels, image, name). */
import { imageAsGiven } from './config.js';
import type { EngineContext } from './context.js';
import type { ContainerRecord } from './store.js';

/** Records `action` (create, start, die, kill, stop, destroy, rename, ...) for a container. */
export function containerEvent(
  ctx: EngineContext,
  rec: ContainerRecord,
  action: string,
  extra: Record<string, string> = {},
): void {
  ctx.events.append('container', action, rec.id, {
    ...rec.config.labels,
    image: imageAsGiven(rec.config),
    name: rec.name,
    ...extra,
  });
}
