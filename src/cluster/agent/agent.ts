/**
 * The node agent (the kubelet's job): registers its Node (capacity, node info, addresses,
 * labels, conditions, images), renews its Lease every 10 s, rewrites its status when it
 * changes (or another writer changed it), and runs the pods bound to it through the pod sync
 * over its PodRuntime. It caches only its own pods (a spec.nodeName field selector).
 */
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { isAlreadyExists } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { transitionTime } from '../api/condition-time.js';
import { metaTime } from '../api/meta-time.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { clientObjects, clientPodApi, clientVolumeSources, podEvents } from './api.js';
import { startEndpoint, useServingCertificate } from './endpoint.js';
import { admissionRefusal } from './eviction/admission.js';
import { EvictionManager } from './eviction/manager.js';
import { podUsage } from './eviction/pod-usage.js';
import { observe } from './eviction/signals.js';
import { parseEvictionHard, type Threshold } from './eviction/thresholds.js';
import { ImageGc } from './image-gc.js';
import { NodeLeases } from './lease.js';
import { disk, goArch, machineFacts } from './machine.js';
import { ResourceSummary } from './metrics/resource-summary.js';
import { rotateServingCertificate } from './node-certificates.js';
import { NodeEvents } from './node-events.js';
import type { ClusterDnsSettings } from './pod-dns.js';
import { PodSyncer } from './pod-sync.js';
import { PodWorkers } from './pod-workers.js';
import { ProbeManager } from './probes/probe-manager.js';
import type { PodRuntime } from './runtime.js';
import { VolumeManager } from './volumes/manager.js';

const log = logger('agent');

export const kubeletVersion = 'v1.32.0-berth';

/** How often unused images are collected (the kubelet's ImageGCPeriod). */
const IMAGE_GC_MS = 5 * 60_000;

export interface AgentOptions {
  client: KubeClient;
  nodeName: string;
  nodeIP: string;
  /**
   * Makes the runtime once the node has its pod CIDR (the kubelet's network is not ready
   * before), or says why there is none (the node then reports Ready=False with that message).
   */
  runtime: ((podCidr: string) => Promise<PodRuntime>) | { unavailable: string };
  /** The folder holding images and containers (ephemeral-storage, DiskPressure). */
  root: string;
  /** The server's own node gets `node-role.kubernetes.io/control-plane`. */
  controlPlane?: boolean;
  heartbeatMs?: number;
  /** The cluster DNS pods get in their resolv.conf. */
  dns?: ClusterDnsSettings;
  /**
   * The HTTPS endpoint (logs, exec, metrics): its port, the cluster CA its clients must be
   * signed by, and the folder its serving certificate is kept in (node-certificates.ts). None
   * without it.
   */
  endpoint?: { ca: string; dir: string; port: number };
  /** Where pods' volumes live (one folder per pod); without it volumes are not set up (simulated pods). */
  podsDir?: string;
  /** The hard eviction thresholds (`--eviction-hard`); default the kubelet's. */
  evictionHard?: Threshold[];
  /** How often the eviction manager measures (the kubelet's 10 s). */
  evictionMonitoringMs?: number;
}

export interface RunningAgent {
  nodeName: string;
  stop(): void;
}

const condition = (
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  old: KubeObject | undefined,
) => {
  const status = ok ? 'True' : 'False';
  const prev = (old?.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
  const now = metaTime();
  return {
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: transitionTime(prev, status, now),
  };
};

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const { client, nodeName } = opts;
  const makeRuntime = typeof opts.runtime === 'function' ? opts.runtime : undefined;
  let runtime: PodRuntime | undefined;
  let runtimeVersion: { name: string; version: string } | undefined;
  const notReady = () =>
    typeof opts.runtime !== 'function'
      ? `container runtime is not available: ${opts.runtime.unavailable}`
      : !runtime
        ? 'network is not ready: the node has no pod CIDR yet'
        : undefined;

  const usage = new ResourceSummary({ nodeName, runtime: () => runtime });
  // Set once pods run: what the eviction manager acts through.
  let podControl: { syncer: PodSyncer; workers: PodWorkers; pods: Informer; gc: ImageGc } | undefined;
  const evictionHard = opts.evictionHard ?? parseEvictionHard();
  const eviction = new EvictionManager({
    thresholds: evictionHard,
    observe: () => observe({ podsDir: opts.podsDir ?? opts.root, root: opts.root }),
    activePods: () =>
      (podControl?.pods.list() ?? []).filter(
        (p) =>
          p.spec?.nodeName === nodeName &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase !== 'Succeeded' &&
          p.status?.phase !== 'Failed',
      ),
    usage: async (p) => (runtime ? podUsage(runtime, p, opts.podsDir) : undefined),
    reclaimDisk: async () => {
      const r = await podControl?.gc.deleteUnused();
      if (r?.removed.length)
        log.info('images removed under disk pressure', { node: nodeName, freed: r.freed });
    },
    evict: async (p, message) => {
      if (!podControl) return;
      const ref = {
        uid: p.metadata.uid ?? '',
        name: p.metadata.name ?? '',
        namespace: p.metadata.namespace ?? '',
      };
      podControl.syncer.markEvicted(ref.uid, message);
      podControl.workers.syncPod(ref);
    },
  });
  // The first measure comes before registration, so a node under pressure says so at once.
  await eviction.synchronize();
  // It serves once the node has a serving certificate for the addresses it reports (below).
  const endpoint = opts.endpoint
    ? await startEndpoint({
        ca: opts.endpoint.ca,
        runtime: () => runtime,
        port: opts.endpoint.port,
        summary: () => usage.summary(),
      })
    : undefined;
  const addresses = [
    { type: 'InternalIP', address: opts.nodeIP },
    { type: 'Hostname', address: nodeName },
  ];
  const statusOf = async (old: KubeObject | undefined) => {
    const m = machineFacts({
      root: opts.root,
      runtimeVersion: runtimeVersion ? `${runtimeVersion.name}://${runtimeVersion.version}` : 'none://',
      kubeletVersion,
      evictionHard,
    });
    const pressure = eviction.conditions();
    const images = runtime
      ? (await runtime.listImages()).slice(0, 50).map(({ names, sizeBytes }) => ({ names, sizeBytes }))
      : [];
    return {
      capacity: m.capacity,
      allocatable: m.allocatable,
      nodeInfo: m.nodeInfo,
      addresses,
      daemonEndpoints: { kubeletEndpoint: { Port: endpoint ? (endpoint.address() as AddressInfo).port : 0 } },
      images,
      conditions: [
        condition(
          'MemoryPressure',
          pressure.memory,
          pressure.memory ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory',
          pressure.memory
            ? 'kubelet has insufficient memory available'
            : 'kubelet has sufficient memory available',
          old,
        ),
        condition(
          'DiskPressure',
          pressure.disk,
          pressure.disk ? 'KubeletHasDiskPressure' : 'KubeletHasNoDiskPressure',
          pressure.disk ? 'kubelet has disk pressure' : 'kubelet has no disk pressure',
          old,
        ),
        condition(
          'PIDPressure',
          m.pressure.pid,
          m.pressure.pid ? 'KubeletHasInsufficientPID' : 'KubeletHasSufficientPID',
          m.pressure.pid ? 'kubelet has insufficient PID available' : 'kubelet has sufficient PID available',
          old,
        ),
        condition(
          'Ready',
          !notReady(),
          notReady() ? 'KubeletNotReady' : 'KubeletReady',
          notReady() ?? 'kubelet is posting ready status',
          old,
        ),
      ],
    };
  };

  const labels: Record<string, string> = {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': goArch(),
    ...(opts.controlPlane ? { 'node-role.kubernetes.io/control-plane': 'true' } : {}),
  };
  let node: KubeObject;
  try {
    node = await client.create(Resources.nodes, undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels },
      spec: {},
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    node = await client.patch(Resources.nodes, undefined, nodeName, { metadata: { labels } });
  }
  const nodeEvents = new NodeEvents(new EventRecorder(client, 'kubelet'), nodeName);
  const first = await statusOf(node);
  await client.patchStatus(Resources.nodes, undefined, nodeName, { status: first });
  nodeEvents.started();
  nodeEvents.spec(node);
  nodeEvents.conditions(first.conditions, node.status?.conditions as { type: string; status: string }[]);
  const leases = new NodeLeases(client);
  await leases.renew(nodeName, node.metadata.uid);
  log.info('node registered', { node: nodeName, ip: opts.nodeIP });
  // The serving certificate names the addresses the Node now reports, which is what its
  // approver checks and what the API server verifies when it connects.
  const ep = opts.endpoint;
  const serving =
    endpoint && ep
      ? rotateServingCertificate({
          client,
          dir: ep.dir,
          nodeName,
          addresses,
          use: (pair) => useServingCertificate(endpoint, ep.ca, pair),
        })
      : undefined;

  // Status: rewritten when a condition's status or the facts change, when someone else
  // changed it (the node lifecycle controller marking it Unknown), and at least every minute.
  const nodes = new Informer(
    client,
    Resources.nodes,
    `fieldSelector=${encodeURIComponent(`metadata.name=${nodeName}`)}`,
  );
  let lastWrite = Date.now();
  const summary = (st: Record<string, unknown> | undefined) =>
    JSON.stringify({
      ...st,
      conditions: ((st?.conditions ?? []) as { type: string; status: string }[])
        .map((c) => `${c.type}=${c.status}`)
        .sort(),
    });
  let writing = false;
  const refresh = async () => {
    if (writing) return;
    writing = true;
    try {
      const cur = nodes.get(nodeName);
      const want = await statusOf(cur);
      const { conditions: _c, ...wantFacts } = want;
      const curFacts = Object.fromEntries(Object.keys(wantFacts).map((k) => [k, cur?.status?.[k]]));
      const changed =
        summary({ ...curFacts, conditions: cur?.status?.conditions }) !==
        summary({ ...wantFacts, conditions: want.conditions });
      if (changed || Date.now() - lastWrite > 60_000) {
        await client.patchStatus(Resources.nodes, undefined, nodeName, { status: want });
        lastWrite = Date.now();
        nodeEvents.conditions(want.conditions);
      }
    } finally {
      writing = false;
    }
  };
  const refreshLogged = () =>
    void refresh().catch((e) => log.warn('node status not written', { node: nodeName, err: e as Error }));
  nodes.onUpdate((n) => {
    // Each update as it came: a cordon undone at once is still told.
    nodeEvents.spec(n);
    refreshLogged();
  });
  nodes.start();

  // The eviction manager's pass (the kubelet's monitoring interval): conditions, reclaim, evictions.
  let evicting = false;
  const evictionTimer = setInterval(() => {
    if (evicting) return;
    evicting = true;
    const before = JSON.stringify(eviction.conditions());
    void eviction
      .synchronize()
      .then(() => {
        if (JSON.stringify(eviction.conditions()) !== before) refreshLogged();
      })
      .catch((e) => log.warn('eviction pass failed', { node: nodeName, err: e as Error }))
      .finally(() => {
        evicting = false;
      });
  }, opts.evictionMonitoringMs ?? 10_000);

  const beatMs = opts.heartbeatMs ?? 10_000;
  const timer = setInterval(() => {
    void leases
      .renew(nodeName, node.metadata.uid)
      .catch((e) => log.warn('lease not renewed', { node: nodeName, err: e as Error }));
    refreshLogged();
  }, beatMs);

  let workers: PodWorkers | undefined;
  let volumes: VolumeManager | undefined;
  let housekeeping: NodeJS.Timeout | undefined;
  let imageGc: NodeJS.Timeout | undefined;
  let pods: Informer | undefined;
  let stopped = false;
  let stopProbes = () => {};
  const startPods = async (podCidr: string) => {
    if (!makeRuntime) return;
    const rt = await makeRuntime(podCidr);
    if (stopped) return;
    runtimeVersion = await rt.version();
    runtime = rt;
    const recorder = new EventRecorder(client, 'kubelet');
    const event = podEvents(recorder);
    let allocatable: Record<string, string> | undefined;
    volumes = opts.podsDir
      ? new VolumeManager({
          podsDir: opts.podsDir,
          secretsDir: join(dirname(opts.podsDir), 'pod-secrets'),
          nodeName,
          nodeIP: opts.nodeIP,
          sources: clientVolumeSources(client, event),
          allocatable: () =>
            (allocatable ??= machineFacts({
              root: opts.root,
              runtimeVersion: '',
              kubeletVersion,
              evictionHard,
            }).allocatable),
        })
      : undefined;
    volumes?.start();
    pods = new Informer(
      client,
      Resources.pods,
      `fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`,
    );
    const probes = new ProbeManager({ runtime: rt, onChange: (ref) => workers?.syncPod(ref), event });
    const syncer = new PodSyncer({
      nodeName,
      nodeIP: opts.nodeIP,
      runtime: rt,
      api: clientPodApi(client),
      objects: clientObjects(client),
      admit: (p) => admissionRefusal(p, eviction.conditions()),
      probes,
      event,
      ...(volumes ? { volumes } : {}),
      ...(opts.dns ? { dns: opts.dns } : {}),
    });
    stopProbes = () => probes.stop();
    const w = new PodWorkers({
      name: `agent-${nodeName}`,
      pods,
      syncerFor: (n) => (n === nodeName ? syncer : undefined),
    });
    workers = w;
    w.watch(rt);
    pods.start();
    // Once the cache is full: clean up pods deleted while the agent was away, re-adopt the rest.
    void w.run().then((ok) => ok && w.resync(nodeName));
    housekeeping = setInterval(() => w.resync(nodeName), 60_000);
    const gc = new ImageGc({ runtime: rt, disk: () => disk(opts.root) });
    podControl = { syncer, workers: w, pods, gc };
    imageGc = setInterval(() => {
      void gc.collect().then(
        (r) => {
          if (r.freed >= r.wanted) return;
          recorder.record(
            { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, uid: nodeName } },
            'Warning',
            'FreeDiskSpaceFailed',
            `Failed to garbage collect required amount of images. Attempted to free ${r.wanted} bytes, but only found ${r.freed} bytes eligible to free.`,
          );
        },
        (e) => log.warn('image garbage collection failed', { node: nodeName, err: e as Error }),
      );
    }, IMAGE_GC_MS);
    imageGc.unref();
    log.info('running pods', { node: nodeName, podCidr });
    refreshLogged();
  };
  let starting = false;
  const onNode = (n: KubeObject) => {
    const cidr = n.spec?.podCIDR as string | undefined;
    if (!cidr || starting || !makeRuntime) return;
    starting = true;
    void startPods(cidr).catch((e) => {
      starting = false;
      log.error('the pod runtime did not start', { node: nodeName, err: e as Error });
    });
  };
  nodes.onAdd(onNode).onUpdate(onNode);

  return {
    nodeName,
    stop() {
      stopped = true;
      serving?.stop();
      endpoint?.close();
      usage.stop();
      clearInterval(timer);
      clearInterval(evictionTimer);
      clearInterval(housekeeping);
      clearInterval(imageGc);
      workers?.stop();
      stopProbes();
      volumes?.stop();
      pods?.stop();
      nodes.stop();
    },
  };
}
