import { invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { KubeClient } from '../client/kube-client.js';
import { ingressStatusController } from '../ingress/status.js';
import { schedulerController } from '../scheduler/scheduler.js';
import { type ControllerSpec, type ControlPlaneOptions, SharedContext } from './context.js';
import { startControllerAccounts } from './controller-accounts.js';
import { cronJobController } from './cronjob.js';
import { csrApprovingController } from './csr-approving.js';
import { csrCleanerController } from './csr-cleaner.js';
import { csrSigningController } from './csr-signing.js';
import { daemonSetController } from './daemonset.js';
import { deploymentController } from './deployment.js';
import { disruptionController } from './disruption.js';
import { endpointsController } from './endpoints.js';
import { endpointSliceController } from './endpointslice.js';
import { eventTtlController } from './event-ttl.js';
import { garbageCollector } from './gc.js';
import { hpaController } from './hpa.js';
import { jobController } from './job.js';
import { LeaderElector, type LeaderOptions } from './leader.js';
import { namespaceController } from './namespace.js';
import { namespaceDefaultsController } from './namespace-defaults.js';
import { nodeIpamController } from './node-ipam.js';
import { nodeLifecycleController } from './node-lifecycle.js';
import { pvBinderController } from './pv-binder.js';
import { replicaSetController } from './replicaset.js';
import { resourceQuotaController } from './resourcequota.js';
import { serviceLbController } from './servicelb.js';
import { statefulSetController } from './statefulset.js';
import { pvcProtectionController, pvProtectionController } from './volume-protection.js';

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
  namespaceController,
  endpointsController,
  endpointSliceController,
  serviceLbController,
  ingressStatusController,
  jobController,
  cronJobController,
  nodeLifecycleController,
  nodeIpamController,
  statefulSetController,
  daemonSetController,
  pvBinderController,
  pvcProtectionController,
  pvProtectionController,
  eventTtlController,
  resourceQuotaController,
  disruptionController,
  hpaController,
  csrApprovingController,
  csrSigningController,
  csrCleanerController,
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

/** A running control plane; `stop` ends its watches and loops (and gives up the Lease). */
export interface ControlPlane {
  stop(): Promise<void>;
  /** True while this process holds the controller Lease and runs the controllers. */
  isLeader(): boolean;
}

/**
 * Starts the enabled controllers in this process against the API through `client`, on the
 * leader only: the control plane campaigns for the `kube-system/berth-controller-manager`
 * Lease (leader.ts) and runs its controllers while it holds it. They share one informer per
 * resource; each controller's handlers only queue keys, and its sync reads the caches and
 * converges (level-triggered: a new leader resumes from the cluster's state).
 */
export async function startControlPlane(
  client: KubeClient,
  enabled: Set<string>,
  options: ControlPlaneOptions & LeaderOptions = {},
): Promise<ControlPlane> {
  let ctx: SharedContext | undefined;
  const run = () => {
    const c = new SharedContext(client, options);
    ctx = c;
    for (const spec of registry) if (enabled.has(spec.name)) spec.start(c.forController(spec.name));
    // As the controller manager's own client, like upstream's client builder.
    startControllerAccounts(c.forController('controller-accounts'), c.serviceAccounts);
    void c.startInformers().then(() => {
      if (ctx === c) log.info('control plane started', { controllers: [...enabled] });
    });
  };
  const halt = () => {
    ctx?.stop();
    ctx = undefined;
  };
  const elector = new LeaderElector(client, run, halt, options);
  elector.start();
  return { stop: () => elector.stop(), isLeader: () => elector.isLeader() };
}
