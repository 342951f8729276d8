/**
 * Starting an agent from the command line's options, shared by `berth agent` and the agent
 * embedded in `berth server`: join (or reuse the node's credentials), keep the client
 * certificate renewed, pick the pod runtime, start the agent as the node.
 */
import { join } from 'node:path';
import { invalidArgument, isNotFound, notFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { parseBackend } from '../podnet/plan.js';
import { PodNetwork, podNetStateDir } from '../podnet/podnet.js';
import { SimRuntime } from '../sim/sim-runtime.js';
import { type RunningAgent, startAgent } from './agent.js';
import { parseEvictionHard } from './eviction/thresholds.js';
import { joinCluster, nodeClient, readTokenFile } from './join.js';
import { defaultNodeIP, defaultNodeName } from './machine.js';
import { rotateClientCertificate } from './node-certificates.js';
import type { PodRuntime } from './runtime.js';

const log = logger('agent');

export const podRuntimes = ['engine', 'sim'] as const;

export interface AgentCliOptions {
  server: string;
  tokenFile: string;
  nodeName?: string;
  nodeIP?: string;
  dataDir: string;
  /** The engine store (global --root and --runroot). */
  root: string;
  runroot: string;
  podRuntime: string;
  controlPlane?: boolean;
  /** The port of the agent's HTTPS endpoint (10250; 0 picks a free one). */
  port?: number;
  /** Pod addresses (--cluster-cidr), for the Service proxy's masquerading. Default 10.42.0.0/16. */
  clusterCidr?: string;
  /** How pods reach other nodes' pods: host-gw, vxlan or auto (the default). */
  flannelBackend?: string;
  /** `--eviction-hard`: thresholds that replace the kubelet's defaults for their signals. */
  evictionHard?: string;
  /**
   * The cluster DNS this node serves and gives its pods (--cluster-domain, --resolv-conf); its
   * address is the kube-dns Service's, read from the server.
   */
  dns?: { clusterDomain: string; resolvConf: string };
  /** The Ingress controller's ports and helpers; undefined when it is not served (`--disable ingress`). */
  ingress?: { httpPort: number; httpsPort: number; helpers: number };
  /**
   * The agent embedded in `berth server`: a client of the API in this process with the node's
   * identity (RunningServer.localNodeToken) through the in-process transport
   * (RunningServer.localTransport). The agent then reaches the API without HTTP; it still
   * joins and keeps its certificates (the serving one for its endpoint; the client one for
   * renewals and the Ingress thread).
   */
  localApi?: (nodeName: string) => KubeClient;
}

function runtimeFor(
  name: string,
  o: AgentCliOptions,
  podNetworkMtu: () => Promise<number>,
): ((podCidr: string) => Promise<PodRuntime>) | { unavailable: string } {
  if (name === 'sim')
    return async (cidr) => new SimRuntime({ subnet: cidr.split('/')[0]!.split('.').slice(0, 3).join('.') });
  if (name === 'engine')
    return async (cidr) => {
      const [{ openEngine }, { EngineRuntime }, { selfCommand }] = await Promise.all([
        import('../../engine/engine.js'),
        import('./engine-runtime.js'),
        import('../../core/self-command.js'),
      ]);
      const engine = openEngine({ root: o.root, runroot: o.runroot, self: selfCommand([]) });
      return new EngineRuntime(engine, { podCidr: cidr, mtu: await podNetworkMtu() });
    };
  throw invalidArgument(`Invalid --pod-runtime "${name}": one of ${podRuntimes.join(', ')}`);
}

const ipv4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

export async function startAgentFromCli(o: AgentCliOptions): Promise<RunningAgent> {
  const backend = parseBackend(o.flannelBackend ?? 'auto');
  const evictionHard = parseEvictionHard(o.evictionHard ?? '');
  // Pods on the engine get the pod network (sim pods have no network to route).
  let podnet: PodNetwork | undefined;
  const runtime = runtimeFor(o.podRuntime, o, async () => {
    if (!podnet) throw new Error('the pod network was not started');
    return (await podnet.ready()).mtu;
  });
  if (o.nodeIP && !ipv4.test(o.nodeIP))
    throw invalidArgument(`Invalid --node-ip "${o.nodeIP}": an IPv4 address is needed`);
  const port = o.port ?? 10250;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw invalidArgument(`Invalid --kubelet-port "${o.port}": must be a port number`);
  const nodeName = (o.nodeName ?? defaultNodeName()).toLowerCase();
  const nodeIP = o.nodeIP ?? defaultNodeIP();
  const token = readTokenFile(o.tokenFile);
  const creds = await joinCluster({ server: o.server, token, nodeName, dataDir: o.dataDir });
  const certClient = nodeClient(o.server, creds);
  const client = o.localApi?.(nodeName) ?? certClient;
  const clientCert = rotateClientCertificate({
    client: certClient,
    dir: o.dataDir,
    nodeName,
    current: creds.client,
    bootstrap: () => new KubeClient({ server: o.server, ca: creds.ca, token: token.secret }),
  });
  const dns = o.dns && checkClusterDns({ ...o.dns, clusterDns: await clusterDnsOf(client) });
  if (o.podRuntime === 'engine')
    podnet = new PodNetwork({
      client,
      nodeName,
      nodeIP,
      backend,
      stateDir: podNetStateDir(o.runroot),
    }).start();
  const agent = await startAgent({
    client,
    nodeName,
    nodeIP,
    runtime,
    root: o.root,
    controlPlane: o.controlPlane ?? false,
    endpoint: { ca: creds.ca, dir: o.dataDir, port },
    evictionHard,
    ...(o.podRuntime === 'engine' ? { podsDir: join(o.dataDir, 'pods') } : {}),
    ...(dns ? { dns } : {}),
  }).catch((e) => {
    // Renewals belong to a running agent.
    clientCert.stop();
    throw e;
  });
  const withRotation: RunningAgent = {
    ...agent,
    stop() {
      clientCert.stop();
      agent.stop();
    },
  };
  // Services are programmed where pods really run; simulated pods have no addresses to reach.
  if (o.podRuntime !== 'engine') return withRotation;
  const { ServiceProxy } = await import('../proxy/proxier.js');
  const proxy = new ServiceProxy({
    client,
    nodeName,
    ...(o.clusterCidr ? { clusterCidr: o.clusterCidr } : {}),
  }).start();
  // NetworkPolicies are enforced where pods have addresses, like Services.
  const { NetworkPolicyEnforcer } = await import('../netpol/enforcer.js');
  const netpol = new NetworkPolicyEnforcer({ client, nodeName }).start();
  const { startIngress } = await import('../ingress/ingress-host.js');
  const ingress = startIngress({ server: o.server, creds, client, nodeName, settings: o.ingress });
  const running = {
    ...withRotation,
    stop() {
      netpol.stop();
      ingress.stop();
      proxy.stop();
      withRotation.stop();
      podnet?.stop();
    },
  };
  // The cluster DNS is served where pods really run, like the proxy.
  return dns ? withNodeDns(running, client, dns) : running;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The cluster DNS address, as the server chose it (`berth server --cluster-dns`, by default the
 * tenth address of its --service-cidr): the ClusterIP of the kube-dns Service it keeps. Every
 * node reads it there, so nodes cannot disagree with the server or with each other.
 */
async function clusterDnsOf(client: KubeClient): Promise<string> {
  let svc: KubeObject;
  try {
    svc = await client.get(Resources.services, 'kube-system', 'kube-dns');
  } catch (e) {
    if (!isNotFound(e)) throw e;
    throw notFound(
      'Cannot learn the cluster DNS address: the cluster has no Service kube-system/kube-dns (berth server makes it at each start)',
    );
  }
  const ip = svc.spec?.clusterIP;
  if (typeof ip !== 'string' || !ipv4.test(ip))
    throw invalidArgument(
      `Cannot serve the cluster DNS: the Service kube-system/kube-dns has the address "${String(ip)}", not an IPv4 address`,
    );
  return ip;
}

/** Refuses a --cluster-domain that is not a DNS name. */
function checkClusterDns<T extends { clusterDns: string; clusterDomain: string }>(d: T): T {
  const domain = d.clusterDomain.replace(/\.$/, '').toLowerCase();
  if (!domain || domain.length > 253 || !domain.split('.').every((l) => l.length <= 63 && dnsLabel.test(l)))
    throw invalidArgument(
      `Invalid --cluster-domain "${d.clusterDomain}": a DNS name is needed (cluster.local)`,
    );
  return { ...d, clusterDomain: domain };
}

/** Starts the node's cluster DNS beside the agent; it stops with the agent. */
async function withNodeDns(
  agent: RunningAgent,
  client: KubeClient,
  dns: { clusterDns: string; clusterDomain: string; resolvConf: string },
): Promise<RunningAgent> {
  const { startNodeDns } = await import('../dns/node-dns.js');
  let node: { stop(): Promise<void> } | undefined;
  let stopped = false;
  // It waits for its caches; the agent runs pods meanwhile (they retry lookups, as with CoreDNS).
  void startNodeDns({
    client,
    address: dns.clusterDns,
    domain: dns.clusterDomain,
    resolvConf: dns.resolvConf,
  }).then(
    (n) => {
      node = n;
      if (stopped) void n.stop();
    },
    (e) => log.error('the cluster DNS did not start', { address: dns.clusterDns, err: e as Error }),
  );
  return {
    nodeName: agent.nodeName,
    stop() {
      stopped = true;
      agent.stop();
      void node?.stop();
    },
  };
}
