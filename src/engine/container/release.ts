import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type OciRuntime, runtimeDelete } from '../runtime/oci-runtime.js';
import type { EngineContext } from './context.js';
import { releaseNetwork } from './network.js';
import { containerPaths } from './paths.js';
import { unmountRootfs } from './rootfs.js';

/**
 * Releases what a run of the container holds on the machine: the runtime's record (and its
 * cgroups), the host-side rootfs mount and the network endpoints. The three are independent
 * and each is safe when there is nothing to release; the runtime is asked only when its
 * state folder shows it still knows the container, which spares a process otherwise.
 */
export async function releaseRun(ctx: EngineContext, id: string, runtime: OciRuntime): Promise<void> {
  await Promise.all([
    existsSync(join(runtime.stateRoot, id)) ? runtimeDelete(runtime, id) : undefined,
    unmountRootfs(containerPaths(ctx, id)),
    releaseNetwork(ctx, id),
  ]);
}
