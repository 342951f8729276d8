import { invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { Informer, keyOf } from '../client/informer.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { WorkQueue } from '../client/work-queue.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { syncDeployment } from './deployment.js';
import { controllerUid } from './pods.js';
import { Expectations, syncReplicaSet } from './replicaset.js';

const log = logger('controllers');

/** The controllers `berth server` can run, by name (`--controllers=*,-deployment`). */
export const controllerNames = ['scheduler', 'replicaset', 'deployment'] as const;
export type ControllerName = (typeof controllerNames)[number];

/** Parses `--controllers`: `*` for all, a name to add, `-name` to leave out. */
export function parseControllers(spec: string): Set<ControllerName> {
  const out = new Set<ControllerName>();
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw === '*') {
      for (const n of controllerNames) out.add(n);
      continue;
    }
    const off = raw.startsWith('-');
    const name = (off ? raw.slice(1) : raw) as ControllerName;
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

function byNamespace(inf: Informer, ns: string): KubeObject[] {
  return inf.list().filter((o) => o.metadata.namespace === ns);
}

/**
 * Starts the scheduler and controllers in this process against the API through `client`:
 * shared informers for pods, nodes, ReplicaSets and Deployments; each controller's event
 * handlers only queue `namespace/name` keys, and its `sync(key)` reads the caches and
 * converges (level-triggered: a restart resumes from the cluster's state).
 */
export async function startControlPlane(
  client: KubeClient,
  enabled: Set<ControllerName>,
): Promise<ControlPlane> {
  const pods = new Informer(client, Resources.pods);
  const nodes = new Informer(client, Resources.nodes);
  const replicasets = new Informer(client, Resources.replicasets);
  const deployments = new Informer(client, Resources.deployments);
  const stops: (() => void)[] = [];

  if (enabled.has('scheduler')) {
    const s = new Scheduler(client, pods, nodes);
    s.start();
    stops.push(() => s.stop());
  }
  if (enabled.has('replicaset')) {
    const exp = new Expectations();
    const q = new WorkQueue(
      (key) =>
        syncReplicaSet(
          key,
          { getReplicaSet: (k) => replicasets.get(k), podsIn: (ns) => byNamespace(pods, ns) },
          {
            createPod: (ns, pod) => client.create(Resources.pods, ns, pod),
            deletePod: (ns, name) => client.delete(Resources.pods, ns, name),
            updateStatus: (rs) => client.updateStatus(Resources.replicasets, rs),
          },
          exp,
        ),
      4,
    );
    const rsKeyOfPod = (p: KubeObject) => {
      const uid = controllerUid(p);
      if (!uid) return undefined;
      const owner = p.metadata.ownerReferences?.find((o) => o.uid === uid && o.kind === 'ReplicaSet');
      return owner ? `${p.metadata.namespace}/${owner.name}` : undefined;
    };
    replicasets.onAdd((rs) => q.add(keyOf(rs))).onUpdate((rs) => q.add(keyOf(rs)));
    pods
      .onAdd((p) => {
        const k = rsKeyOfPod(p);
        if (k) {
          exp.observed(k, 'add');
          q.add(k);
        }
      })
      .onUpdate((p) => {
        const k = rsKeyOfPod(p);
        if (k) q.add(k);
      })
      .onDelete((p) => {
        const k = rsKeyOfPod(p);
        if (k) {
          exp.observed(k, 'del');
          q.add(k);
        }
      });
    stops.push(() => q.stop());
  }
  if (enabled.has('deployment')) {
    const q = new WorkQueue(
      (key) =>
        syncDeployment(
          key,
          { getDeployment: (k) => deployments.get(k), replicaSetsIn: (ns) => byNamespace(replicasets, ns) },
          {
            createReplicaSet: (ns, rs) => client.create(Resources.replicasets, ns, rs),
            updateReplicaSet: (rs) => client.update(Resources.replicasets, rs),
            deleteReplicaSet: (ns, name) => client.delete(Resources.replicasets, ns, name),
            updateStatus: (d) => client.updateStatus(Resources.deployments, d),
            updateDeployment: (d) => client.update(Resources.deployments, d),
          },
        ),
      4,
    );
    deployments.onAdd((d) => q.add(keyOf(d))).onUpdate((d) => q.add(keyOf(d)));
    const ownerKey = (rs: KubeObject) => {
      const o = rs.metadata.ownerReferences?.find((x) => x.controller && x.kind === 'Deployment');
      return o ? `${rs.metadata.namespace}/${o.name}` : undefined;
    };
    const onRs = (rs: KubeObject) => {
      const k = ownerKey(rs);
      if (k) q.add(k);
    };
    replicasets.onAdd(onRs).onUpdate(onRs).onDelete(onRs);
    stops.push(() => q.stop());
  }
  const informers = [pods, nodes, replicasets, deployments];
  for (const i of informers) i.start();
  await Promise.all(informers.map((i) => i.hasSynced()));
  log.info('control plane started', { controllers: [...enabled] });
  return {
    stop() {
      for (const s of stops) s();
      for (const i of informers) i.stop();
    },
  };
}
