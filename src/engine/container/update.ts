/**
 * `update`: changes a container's memory, CPU and pids limits and its restart policy, as
 * `docker update` does: kept in its configuration for later starts, and applied at once to
 * a running (or paused) container's cgroup through the runtime's `update`.
 */
import { detectRuntime, runRuntime } from '../runtime/oci-runtime.js';
import { cfsQuota } from '../runtime/oci-spec.js';
import type { ContainerConfig } from './config.js';
import type { EngineContext } from './context.js';
import { checkCpus, checkMemory } from './create.js';
import { withContainerLock } from './lock.js';
import type { ContainerRecord } from './store.js';

/** What `update` may change (absent: unchanged). */
export type UpdateOptions = Partial<Pick<ContainerConfig, 'memory' | 'nanoCpus' | 'pidsLimit' | 'restart'>>;

export async function updateContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  o: UpdateOptions,
): Promise<void> {
  if (o.nanoCpus !== undefined) checkCpus(o.nanoCpus);
  if (o.memory !== undefined) checkMemory(o.memory);
  await withContainerLock(ctx, rec.id, async () => {
    const current = ctx.containers.get(rec.id);
    const config: ContainerConfig = { ...current.config, ...o };
    if (current.state === 'running' || current.state === 'paused') {
      const args: string[] = [];
      if (o.memory !== undefined) args.push('--memory', String(o.memory || -1));
      if (o.nanoCpus !== undefined) {
        const { period, quota } = cfsQuota(o.nanoCpus);
        args.push('--cpu-period', String(period), '--cpu-quota', String(o.nanoCpus ? quota : -1));
      }
      if (o.pidsLimit !== undefined) args.push('--pids-limit', String(o.pidsLimit || -1));
      if (args.length) {
        const rt = detectRuntime(ctx.runroot, current.config.runtime);
        await runRuntime(rt, ['update', ...args, rec.id]);
      }
    }
    ctx.containers.setConfig(rec.id, config);
  });
}
