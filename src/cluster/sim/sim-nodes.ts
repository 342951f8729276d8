import { isAlreadyExists, isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { controllerUid } from '../controllers/pods.js';

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
 * Simulated nodes (like KWOK): registers nodes with capacity, renews their Leases, and plays
 * the pods bound to them through Running and Ready (Job pods on to Succeeded) without
 * starting containers. Stopping it (or its process) is how a test makes its nodes fail.
 */
export async function startSimNodes(
  client: KubeClient,
  opts: SimOptions,
): Promise<{ names: string[]; stop(): void }> {
  const names = Array.from({ length: opts.count }, (_, i) => `${opts.prefix}${i}`);
  const mine = new Set(names);
  const now = () => new Date().toISOString();
  const readyStatus = () => ({
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
      kubeletVersion: 'v1.32.0-berth-sim',
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
          status: readyStatus(),
        };
        let created: KubeObject;
        try {
          created = await client.create(Resources.nodes, undefined, node);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          created = await client.get(Resources.nodes, undefined, name);
        }
        await client.updateStatus(Resources.nodes, { ...created, status: readyStatus() });
      }
    }),
  );
  const renew = async (name: string) => {
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now().replace('Z', '000Z') },
    };
    try {
      const cur = await client.get(Resources.leases, 'kube-node-lease', name);
      await client.update(Resources.leases, {
        ...cur,
        spec: { ...cur.spec, renewTime: lease.spec.renewTime },
      });
    } catch (e) {
      if (isNotFound(e)) await client.create(Resources.leases, 'kube-node-lease', lease).catch(() => {});
    }
  };
  const beat = async () => {
    for (const n of names)
      await renew(n).catch((e) => log.debug('lease renewal failed', { node: n, err: e as Error }));
  };
  void beat();
  const timer = setInterval(() => void beat(), opts.heartbeatMs ?? 10_000);
  // Pod addresses as a node's pod CIDR would hand them out: a /24 per node, unique while
  // the node has fewer than 254 pods alive at once (simulated pods have no network anyway).
  const nodeIndex = new Map(names.map((n, i) => [n, i]));
  // Another `sim nodes` process (another prefix) takes other addresses.
  const prefixBlock = [...opts.prefix].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 32, 7);
  const nextHost = new Map<string, number>();
  const podIpFor = (node: string) => {
    const i = nodeIndex.get(node) ?? 0;
    const h = ((nextHost.get(node) ?? 0) % 254) + 1;
    nextHost.set(node, h);
    return `10.${64 + prefixBlock * 4 + ((i >> 8) & 3)}.${i & 255}.${h}`;
  };
  const runningConditions = (t: string) => [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
    { type: 'Initialized', status: 'True', lastTransitionTime: t },
    { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
    { type: 'Ready', status: 'True', lastTransitionTime: t },
  ];
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
        status: { conditions: readyStatus().conditions },
      })
      .catch((e) => log.debug('node status not restored', { node: n.metadata.name, err: e as Error }));
  };
  nodeInformer.onAdd((n) => void restoreNode(n)).onUpdate((n) => void restoreNode(n));
  nodeInformer.start();
  const pods = new Informer(client, Resources.pods);
  const play = async (p: KubeObject) => {
    if (!mine.has(p.spec?.nodeName) || p.metadata.deletionTimestamp) return;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const ns = p.metadata.namespace!;
    const name = p.metadata.name!;
    const isJob = p.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.uid === controllerUid(p));
    const ready = (p.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
    if (phase === 'Running' && ready?.status !== 'True') {
      // Someone else (the node lifecycle controller while this node looked gone) marked it
      // not Ready; a kubelet reports what it sees, and this pod is running and ready.
      const t = now();
      await client
        .patchStatus(Resources.pods, ns, name, { status: { conditions: runningConditions(t) } })
        .catch((e) => log.debug('pod status not restored', { pod: `${ns}/${name}`, err: e as Error }));
      return;
    }
    if (phase !== 'Running') {
      const t = now();
      const ip = podIpFor(p.spec.nodeName as string);
      await client
        .patchStatus(Resources.pods, ns, name, {
          status: {
            phase: 'Running',
            hostIP: '127.0.0.1',
            hostIPs: [{ ip: '127.0.0.1' }],
            podIP: ip,
            podIPs: [{ ip }],
            startTime: t,
            conditions: runningConditions(t),
            containerStatuses: (p.spec?.containers ?? []).map((c: { name: string; image: string }) => ({
              name: c.name,
              image: c.image,
              imageID: '',
              ready: true,
              started: true,
              restartCount: 0,
              state: { running: { startedAt: t } },
            })),
          },
        })
        .catch(() => {});
      if (isJob) {
        setTimeout(
          () => {
            void client
              .patchStatus(Resources.pods, ns, name, {
                status: {
                  phase: 'Succeeded',
                  conditions: [
                    { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now() },
                  ],
                },
              })
              .catch(() => {});
          },
          (opts.jobSeconds ?? 5) * 1000,
        ).unref();
      }
    }
  };
  pods.onAdd((p) => void play(p)).onUpdate((p) => void play(p));
  pods.start();
  await pods.hasSynced();
  return {
    names,
    stop() {
      clearInterval(timer);
      pods.stop();
      nodeInformer.stop();
    },
  };
}
