/**
 * The Ingress controller on one node (run by every agent, like Traefik's DaemonSet in k3s):
 * watches Ingresses, IngressClasses, Services, EndpointSlices and `kubernetes.io/tls`
 * Secrets, keeps the routing table, the endpoint pools and the certificates current, and
 * serves them on the node's ports (proxy.ts). It listens once every cache is full, so no
 * request is answered from an empty table. Problems with one Ingress (a missing Service or
 * Secret, a bad annotation) become Warning events on it; the others are not affected.
 * The node is marked `ingress.berth.dev/serving` so the server's status controller lists its
 * address in `status.loadBalancer` of the Ingresses.
 */
import { createSecureContext } from 'node:tls';
import { logger, logLevel } from '../../core/log.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { sliceIndexes } from '../dns/cluster-index.js';
import { Backends, backendKey } from './backends.js';
import { CertStore, selfSignedCertificate, tlsOptions } from './certs.js';
import { helperAffinity } from './cpu-affinity.js';
import { type HelperEntry, helperEntry, IngressHelpers } from './helpers.js';
import { ingressClasses, ingresses, SERVING_ANNOTATION, servedByBerth } from './ingress-class.js';
import { bindListener, type ListenHandle } from './listen-handle.js';
import { type IngressRouter, listenIngress } from './proxy.js';
import { type BackendRef, type IngressProblem, type RouteTable, routeTable } from './routes.js';
import { type IngressSnapshot, takeSnapshot } from './snapshot.js';

const log = logger('ingress');

/** The common name of the certificate for names no Secret covers. */
const DEFAULT_CERT_NAME = 'berth-ingress-default';

export interface IngressSettings {
  httpPort: number;
  httpsPort: number;
  /** Helper processes that serve the connections (helpers.ts); 0: the controller's thread serves them. */
  helpers: number;
}

export interface NodeIngressOptions extends IngressSettings {
  client: KubeClient;
  nodeName: string;
  /** Where to listen; default every IPv4 address of the node. */
  address?: string;
}

export interface NodeIngress {
  httpPort: number;
  httpsPort: number;
  stop(): Promise<void>;
}

/** The routing state, rebuilt from the caches after changes, and the events it gives rise to. */
class IngressState implements IngressRouter {
  private table: RouteTable | undefined;
  /** Problems already told, so a rebuild does not tell them again. */
  private told = new Set<string>();
  private version = 0;
  /** Takes the state after each rebuild (the helper processes'), when they serve. */
  onRebuilt: ((s: IngressSnapshot) => void) | undefined;

  constructor(
    private readonly caches: {
      ingresses: Informer;
      classes: Informer;
      secrets: Informer;
    },
    private readonly backends: Backends,
    readonly certs: CertStore,
    private readonly recorder: EventRecorder,
  ) {}

  /** Rebuilds the table and the certificate bindings; reports new problems. */
  rebuild(): void {
    const classes = this.caches.classes.list();
    const served = this.caches.ingresses.list().filter((i) => servedByBerth(i, classes));
    const { table, problems } = routeTable(served);
    problems.push(...this.certs.update(served, (k) => this.caches.secrets.get(k)));
    problems.push(...this.missingBackends(served));
    this.table = table;
    this.report(problems);
    this.onRebuilt?.(
      takeSnapshot(++this.version, table, (b) => this.backends.pool(b), this.certs.bindings()),
    );
    log.debug('ingress routes rebuilt', { ingresses: served.length, rules: table.size });
  }

  /** Backends whose Service or port does not exist (a Service without ready pods is no problem here). */
  private missingBackends(served: KubeObject[]): IngressProblem[] {
    const out: IngressProblem[] = [];
    for (const ing of served) {
      const ns = ing.metadata.namespace ?? 'default';
      const refs = [
        ing.spec?.defaultBackend,
        ...((ing.spec?.rules ?? []) as { http?: { paths?: { backend?: unknown }[] } }[]).flatMap((r) =>
          (r.http?.paths ?? []).map((p) => p.backend),
        ),
      ] as { service?: { name?: string; port?: { name?: string; number?: number } } }[];
      const seen = new Set<string>();
      for (const ref of refs) {
        const s = ref?.service;
        if (!s?.name || !s.port) continue;
        const b = {
          namespace: ns,
          service: s.name,
          port: s.port.name ? { name: s.port.name } : { number: s.port.number ?? 0 },
        };
        const k = backendKey(b);
        if (seen.has(k)) continue;
        seen.add(k);
        const missing = this.backends.pool(b).missing;
        if (missing)
          out.push({ ingress: ing, reason: 'ServiceNotFound', message: `${missing}; its paths answer 503` });
      }
    }
    return out;
  }

  private report(problems: IngressProblem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const k = `${p.ingress.metadata.uid}/${p.reason}/${p.message}`;
      now.add(k);
      if (this.told.has(k)) continue;
      log.warn('ingress problem', {
        ingress: `${p.ingress.metadata.namespace}/${p.ingress.metadata.name}`,
        reason: p.reason,
        message: p.message,
      });
      this.recorder.record(
        { ...p.ingress, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
        'Warning',
        p.reason,
        p.message,
      );
    }
    this.told = now;
  }

  match(host: string | undefined, url: string | undefined) {
    return this.table?.match(host, url);
  }

  pool(b: BackendRef) {
    return this.backends.pool(b);
  }

  contextFor(servername: string | undefined) {
    return this.certs.contextFor(servername);
  }
}

/** Starts the node's Ingress controller; resolves once it listens (after its caches are full). */
export async function startNodeIngress(o: NodeIngressOptions): Promise<NodeIngress> {
  const ing = new Informer(o.client, ingresses);
  const classes = new Informer(o.client, ingressClasses);
  const services = new Informer(o.client, Resources.services);
  const slices = new Informer(o.client, Resources.endpointslices);
  // Only TLS Secrets: what the Node authorizer lets a node list, and all an ingress needs.
  const secrets = new Informer(o.client, Resources.secrets, 'fieldSelector=type%3Dkubernetes.io%2Ftls');
  slices.addIndex('service', sliceIndexes.service);
  const informers = [ing, classes, services, slices, secrets];
  const stopInformers = () => {
    for (const i of informers) i.stop();
  };
  const cert = selfSignedCertificate(DEFAULT_CERT_NAME);
  const backends = new Backends(services, slices);
  const state = new IngressState(
    { ingresses: ing, classes, secrets },
    backends,
    new CertStore(createSecureContext({ ...tlsOptions, ...cert })),
    new EventRecorder(o.client, 'berth-ingress'),
  );
  // Changes come in bursts (a rollout moves many slices): one rebuild per turn of the event loop.
  let pending = false;
  let synced = false;
  const rebuild = () => {
    if (pending || !synced) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      state.rebuild();
    });
  };
  const endpointsChanged = () => {
    backends.invalidate();
    rebuild();
  };
  for (const i of [ing, classes, secrets]) i.onAdd(rebuild).onUpdate(rebuild).onDelete(rebuild);
  for (const i of [services, slices])
    i.onAdd(endpointsChanged).onUpdate(endpointsChanged).onDelete(endpointsChanged);
  for (const i of informers) i.start();
  let served: { httpPort: number; httpsPort: number; helpers: number; close(): Promise<void> };
  try {
    await Promise.all(informers.map((i) => i.hasSynced()));
    synced = true;
    const address = o.address ?? '0.0.0.0';
    const entry = o.helpers > 0 ? helperEntry(import.meta.url) : undefined;
    if (entry) served = await startHelpers(state, { ...o, address, entry, defaultCertificate: cert });
    else {
      state.rebuild();
      const proxy = await listenIngress({
        router: state,
        httpPort: o.httpPort,
        httpsPort: o.httpsPort,
        defaultCertificate: cert,
        address,
      });
      served = { ...proxy, helpers: 0 };
    }
  } catch (e) {
    stopInformers();
    throw e;
  }
  await markNode(o.client, o.nodeName, true);
  log.info('ingress serving', { http: served.httpPort, https: served.httpsPort, helpers: served.helpers });
  return {
    httpPort: served.httpPort,
    httpsPort: served.httpsPort,
    async stop() {
      stopInformers();
      await served.close();
    },
  };
}

/** Binds the ports and starts the helper processes on them, which then get every rebuild's state. */
async function startHelpers(
  state: IngressState,
  o: NodeIngressOptions & {
    address: string;
    entry: HelperEntry;
    defaultCertificate: { cert: string; key: string };
  },
): Promise<{ httpPort: number; httpsPort: number; helpers: number; close(): Promise<void> }> {
  const http = bindListener(o.address, o.httpPort);
  let https: ListenHandle;
  try {
    https = bindListener(o.address, o.httpsPort);
  } catch (e) {
    http.close();
    throw e;
  }
  const handles = { http, https };
  const closeHandles = () => {
    handles.http.close();
    handles.https.close();
  };
  const affinity = helperAffinity(o.helpers);
  if ('why' in affinity) log.debug('the Ingress helpers are not pinned to CPUs', { why: affinity.why });
  const helpers = new IngressHelpers({
    count: o.helpers,
    ...('why' in affinity ? {} : { affinity }),
    handles,
    httpPort: o.httpPort,
    httpsPort: o.httpsPort,
    defaultCertificate: o.defaultCertificate,
    logLevel: logLevel(),
    entry: o.entry,
  });
  state.onRebuilt = (s) => helpers.update(s);
  state.rebuild();
  try {
    const ports = await helpers.start();
    return {
      ...ports,
      helpers: o.helpers,
      async close() {
        await helpers.stop();
        closeHandles();
      },
    };
  } catch (e) {
    closeHandles();
    throw e;
  }
}

/** Sets or clears the node's serving annotation (a merge patch: other annotations stay). */
export async function markNode(client: KubeClient, nodeName: string, serving: boolean): Promise<void> {
  await client.patch(Resources.nodes, undefined, nodeName, {
    metadata: { annotations: { [SERVING_ANNOTATION]: serving ? 'true' : null } },
  });
}

/**
 * Runs the node's Ingress controller beside the agent without holding its start up, or, when
 * `settings` is undefined (`--disable ingress`), clears the node's serving annotation. A
 * controller that cannot start (a port taken) is logged and the agent goes on without it.
 */
export function runNodeIngress(
  o: Omit<NodeIngressOptions, keyof IngressSettings> & { settings: IngressSettings | undefined },
): { stop(): void } {
  if (!o.settings) {
    void markNode(o.client, o.nodeName, false).catch((e: Error) =>
      log.warn('could not clear the ingress annotation of the node', { node: o.nodeName, err: e }),
    );
    return { stop() {} };
  }
  let running: NodeIngress | undefined;
  let stopped = false;
  const { httpPort, httpsPort } = o.settings;
  void startNodeIngress({ ...o, ...o.settings }).then(
    (n) => {
      running = n;
      if (stopped) void n.stop();
    },
    (e: Error) =>
      log.error(
        'the Ingress controller did not start; free the ports, choose others with --ingress-http-port and --ingress-https-port, or pass --disable ingress',
        { http: httpPort, https: httpsPort, err: e },
      ),
  );
  return {
    stop() {
      stopped = true;
      void running?.stop();
    },
  };
}
