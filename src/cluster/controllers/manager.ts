import { invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { KubeClient } from '../client/kube-client.js';
import { schedulerController } from '../scheduler/scheduler.js';
import { type ControllerSpec, type ControlPlaneOptions, SharedContext } from './context.js';
import { cronJobController } from './cronjob.js';
import { daemonSetController } from './daemonset.js';
import { deploymentController } from './deployment.js';
import { endpointsController } from './endpoints.js';
import { endpointSliceController } from './endpointslice.js';
import { garbageCollector } from './gc.js';
import { jobController } from './job.js';
import { namespaceDefaultsController } from './namespace-defaults.js';
import { nodeLifecycleController } from './node-lifecycle.js';
import { replicaSetController } from './replicaset.js';
import { statefulSetController } from './statefulset.js';

const log = logger('controllers');

/**
 * Every controller `berth server` can run, one line each. The order is the start order;
 * it does not matter for correctness (each loop is level-triggered) but the scheduler
 * first makes the first pods bind sooner.
 */
export const registry: readonly ControllerSpec[] = [
  schedulerController,
  replicaSetController,
  deploymentController,
  garbageCollector,
  namespaceDefaultsController,
  endpointsController,
  endpointSliceController,
  jobController,
  cronJobController,
  nodeLifecycleController,
  statefulSetController,
  daemonSetController,
];

/** The names `--controllers` accepts. */
export const controllerNames: readonly string[] = registry.map((c) => c.name);

/** Parses `--controllers`: `*` for all, a name to add, `-name` to leave out. */
export function parseControllers(spec: string): Set<string> {
  const out = new Set<string>();
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw === '*') {
      for (const n of controllerNames) out.add(n);
      continue;
    }
    const off = raw.startsWith('-');
    const name = off ? raw.slice(1) : raw;
    if (!controllerNames.includes(name)) {
      throw invalidArgument(
        `Unknown controller "${name}" in --controllers: use ${controllerNames.join(', ')} or *`,
      );
    }
    if (off) out.delete(name);
    else out.add(name);
  }
  return out;
}

/** A running control plane; `stop` ends its watches and loops. */
export interface ControlPlane {
  stop(): void;
}

/**
 * Starts the enabled controllers in this process against the API through `client`. They
 * share one informer per resource; each controller's handlers only queue keys, and its
 * sync reads the caches and converges (level-triggered: a restart resumes from the
 * cluster's state).
 */
export async function startControlPlane(
  client: KubeClient,
  enabled: Set<string>,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const ctx = new SharedContext(client, options);
  for (const c of registry) if (enabled.has(c.name)) c.start(ctx);
  await ctx.startInformers();
  log.info('control plane started', { controllers: [...enabled] });
  return { stop: () => ctx.stop() };
}
