import { createHash } from 'node:crypto';
import { isAlreadyExists } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { clientObjects, clientPodApi } from '../agent/api.js';
import { NodeLeases } from '../agent/lease.js';
import { PodSyncer } from '../agent/pod-sync.js';
import { PodWorkers } from '../agent/pod-workers.js';
import type { PodRef } from '../agent/runtime.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { controllerUid } from '../controllers/pods.js';
import { SimRuntime } from './sim-runtime.js';

const log = logger('sim');

export interface SimOptions {
  count: number;
  prefix: string;
  /** Capacity of each node. */
  cpu?: string;
  memory?: string;
  pods?: number;
  /** Seconds after which pods owned by a Job succeed. Default 5. */
  jobSeconds?: number;
  /** Lease renewal period in ms. Default 10,000. */
  heartbeatMs?: number;
}

/**
 * Simulated nodes (like KWOK): registers nodes with capacity, renews their Leases, and runs
 * the pods bound to them through the node agent's pod sync on an in-memory runtime
 * (sim-runtime.ts), so they go through Running and Ready (Job pods on to Succeeded) and are
 * deleted gracefully without containers. Node status and Leases take a lighter path than the
 * agent's (one loop for all nodes). Stopping it (or its process) is how a test makes its nodes fail.
 */
export async function startSimNodes(
  client: KubeClient,
  opts: SimOptions,
): Promise<{ names: string[]; stop(): void }> {
  const names = Array.from({ length: opts.count }, (_, i) => `${opts.prefix}${i}`);
  const mine = new Set(names);
  const now = () => new Date().toISOString();
  // Stable per-node ids (the same name gives the same ids on every run), as clients expect
  // every node's nodeInfo to be complete; the boot id changes with each `berth sim` process.
  const bootSalt = String(process.pid) + Date.now();
  const idOf = (salt: string, name: string) => {
    const h = createHash('sha256').update(`${salt}/${name}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  };
  const readyStatus = (name: string) => ({
    capacity: { cpu: opts.cpu ?? '8', memory: opts.memory ?? '32Gi', pods: String(opts.pods ?? 110) },
    allocatable: { cpu: opts.cpu ?? '8', memory: opts.memory ?? '32Gi', pods: String(opts.pods ?? 110) },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'simulated node is ready',
        lastHeartbeatTime: now(),
        lastTransitionTime: now(),
      },
    ],
    nodeInfo: {
      machineID: idOf('machine', name).replaceAll('-', ''),
      systemUUID: idOf('system', name),
      bootID: idOf(bootSalt, name),
      kernelVersion: 'sim',
      osImage: 'Berth simulated node',
      kubeletVersion: 'v1.32.0-berth-sim',
      kubeProxyVersion: '',
      containerRuntimeVersion: 'sim://1',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(16, names.length) }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const node: KubeObject = {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'berth-sim' },
          },
          spec: {},
          status: readyStatus(name),
        };
        let created: KubeObject;
        try {
          created = await client.create(Resources.nodes, undefined, node);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          created = await client.get(Resources.nodes, undefined, name);
        }
        // A patch, not a PUT: the node IPAM controller may have set its pod CIDR already.
        await client.patchStatus(Resources.nodes, undefined, created.metadata.name!, {
          status: readyStatus(name),
        });
      }
    }),
  );
  const leases = new NodeLeases(client);
  const beat = async () => {
    for (const n of names)
      await leases.renew(n).catch((e) => log.debug('lease renewal failed', { node: n, err: e as Error }));
  };
  void beat();
  const timer = setInterval(() => void beat(), opts.heartbeatMs ?? 10_000);
  // Pod addresses as a node's pod CIDR would hand them out: a /24 per node, unique while
  // the node has fewer than 254 pods alive at once (simulated pods have no network anyway).
  // Another `sim nodes` process (another prefix) takes other addresses.
  const prefixBlock = [...opts.prefix].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 32, 7);
  const subnetOf = (i: number) => `10.${64 + prefixBlock * 4 + ((i >> 8) & 3)}.${i & 255}`;
  // A kubelet rewrites its node's status when the stored conditions differ from its own: after
  // a control-plane restart (or any time another writer marks the node Unknown while it is in
  // fact alive) the node must not stay NotReady although its Lease keeps being renewed.
  const nodeInformer = new Informer(client, Resources.nodes);
  const restoreNode = async (n: KubeObject) => {
    if (!mine.has(n.metadata.name!)) return;
    const ready = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
    if (ready?.status === 'True' && ready.reason === 'KubeletReady') return;
    await client
      .patchStatus(Resources.nodes, undefined, n.metadata.name!, {
        status: { conditions: readyStatus(n.metadata.name!).conditions },
      })
      .catch((e) => log.debug('node status not restored', { node: n.metadata.name, err: e as Error }));
  };
  nodeInformer.onAdd((n) => void restoreNode(n)).onUpdate((n) => void restoreNode(n));
  nodeInformer.start();
  // Every node runs the agent's own pod sync over an in-memory runtime; one pod informer
  // and one work queue serve them all (a thousand per-node watches would cost more than the
  // nodes they simulate). Job pods' containers exit 0 after `jobSeconds`.
  const pods = new Informer(client, Resources.pods);
  const isJobPod = (ref: PodRef) => {
    const p = pods.get(`${ref.namespace}/${ref.name}`);
    return !!p?.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.uid === controllerUid(p));
  };
  const jobMs = (opts.jobSeconds ?? 5) * 1000;
  const api = clientPodApi(client);
  const objects = clientObjects(client);
  const runtimes: SimRuntime[] = [];
  const syncers = new Map(
    names.map((name, i) => {
      const runtime = new SimRuntime({
        subnet: subnetOf(i),
        behaviour: (ref) => (isJobPod(ref) ? { exitCode: 0, afterMs: jobMs } : undefined),
      });
      runtimes.push(runtime);
      return [name, new PodSyncer({ nodeName: name, nodeIP: '127.0.0.1', runtime, api, objects })] as const;
    }),
  );
  const workers = new PodWorkers({ name: 'sim-pods', pods, syncerFor: (n) => syncers.get(n), workers: 256 });
  for (const r of runtimes) workers.watch(r);
  pods.start();
  await workers.run();
  return {
    names,
    stop() {
      clearInterval(timer);
      workers.stop();
      pods.stop();
      for (const r of runtimes) r.close();
      nodeInformer.stop();
    },
  };
}
