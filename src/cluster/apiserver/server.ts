/**
 * `berth server`: starts the datastore, then the API server over HTTPS, then writes the
 * admin kubeconfig. Readiness is gated: /readyz answers ok only once the bootstrap objects
 * (the four system namespaces) exist. If the datastore fails the process exits loudly; a
 * start that fails part way closes what it opened, so the process can exit.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { invalidArgument, unlessNotFound } from '../../core/errors.js';
import { decode, resourcePrefix } from '../api/objects.js';
import { type ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import type { KubeTransport } from '../client/kube-client.js';
import { defaultStorageClass } from '../controllers/local-path.js';
import type { Store } from '../store/store.js';
import { defaultAdmission } from './admission/plugins.js';
import { type PodSecurityConfig, readAdmissionConfiguration } from './admission/pod-security-config.js';
import { ServiceAllocator } from './allocators.js';
import { AuditLog, type AuditLogOptions } from './audit/audit-log.js';
import { Auditor } from './audit/auditor.js';
import { parsePolicy } from './audit/policy.js';
import { authenticator, type UidLookup, type UserInfo } from './auth.js';
import { startAggregation } from './authz/aggregate.js';
import { type Authorizer, mastersBypass, union } from './authz/attributes.js';
import { controllerTokens } from './authz/controller-policy.js';
import { feedNodeGraph, graphWrite, NodeAuthorizer } from './authz/node-authorizer.js';
import { NodeGraph } from './authz/node-graph.js';
import { feedFromStore, feedWrite } from './authz/policy-feed.js';
import { RbacPolicy } from './authz/rbac.js';
import { reconcileBootstrapPolicy } from './authz/reconcile.js';
import { ComponentStatuses, componentStatusResource } from './component-status.js';
import { syncCrdResources } from './crd.js';
import { restrictDataDir } from './data-dir.js';
import { EncryptedStore, encryptionRules } from './encryption/encrypted-store.js';
import {
  type CipherName,
  ensureGeneratedConfig,
  generatedConfigPath,
  readEncryptionConfig,
} from './encryption/encryption-config.js';
import { secretsEncryptionEndpoint } from './encryption/endpoint.js';
import { SecretsEncryption } from './encryption/secrets-encryption.js';
import { type ConnectHandler, makeHandler } from './handler.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { kubeletAgent } from './kubelet-client.js';
import { ensureKubernetesService } from './kubernetes-service.js';
import { localTransport } from './local-transport.js';
import { resourceMetrics } from './metrics-source.js';
import { caCertsHandler, writeJoinToken } from './node-join.js';
import { type PodProxy, podLogProxy } from './pod-proxy.js';
import { podStreamProxy } from './pod-stream-proxy.js';
import { RestStorage } from './rest.js';
import { defaultServiceCidr, type ServiceCidr } from './service-cidr.js';
import { ensureCredentials, serverTlsOptions } from './tls.js';

export interface ServerOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  /** `--tls-san`: more names and addresses for the serving certificate. */
  tlsSans?: string[];
  /** The node's addresses, put in the serving certificate when bound to 0.0.0.0 or ::. */
  nodeIPs?: string[];
  /** Where the `kubernetes` Service sends pods (default: the bind address, or 127.0.0.1 for all). */
  advertiseAddress?: string;
  /** `--service-cidr`: where ClusterIPs come from (default 10.43.0.0/16). */
  serviceCidr?: ServiceCidr;
  datastoreEndpoint?: string;
  /** Start on a SQLite file that lacks acknowledged revisions (see sqlite-check.ts). */
  datastoreAcceptDataLoss?: boolean;
  /** `--secrets-encryption`: encrypt Secrets with a key kept under DATA_DIR/cred, with this cipher. */
  secretsEncryption?: CipherName;
  /** `--encryption-provider-config FILE`: the user's own EncryptionConfiguration. */
  encryptionProviderConfig?: string;
  /** `--admission-control-config-file`: the admission plugins' configuration (PodSecurity's). */
  admissionControlConfigFile?: string;
  /** `--default-toleration-seconds`: how long pods stay on a failed node (default 30). */
  defaultTolerationSeconds?: number;
  /** `--audit-policy-file` and `--audit-log-*`: an audit log of API requests. */
  audit?: { policyFile: string; log: AuditLogOptions };
}

export interface RunningServer {
  server: Server;
  store: Store;
  kubeconfigPath: string;
  /** DATA/node-token: what `berth agent --token-file` joins with. */
  nodeTokenPath: string;
  url: string;
  /** The local plain-HTTP socket of the same API, and the token to use on it. */
  socketPath: string;
  adminToken: string;
  /**
   * The control plane's token (user system:kube-controller-manager, bound by the bootstrap
   * policy); made at each start and held only in memory.
   */
  controlPlaneToken: string;
  /** The cluster CA (PEM), which controllers publish as kube-root-ca.crt. */
  caCert: string;
  /**
   * A token for the node agent embedded in this process: on the local socket it authenticates
   * as `system:node:NAME` in `system:nodes`, the identity of the node's client certificate,
   * so the Node authorizer, NodeRestriction and audit treat its requests as they treat the
   * certificate's; only TLS is left out. Made on request, held only in memory.
   */
  localNodeToken(nodeName: string): string;
  /**
   * The same API for a client in this process (the embedded agent), without HTTP: requests go
   * to the handler of both listeners, audit included, as objects (local-transport.ts).
   */
  localTransport: KubeTransport;
  close(): Promise<void>;
}

async function openDatastore(opts: ServerOptions): Promise<Store> {
  const { openStore } = await import('../store/open-store.js');
  const store = openStore(opts.datastoreEndpoint, opts.dataDir, {
    acceptDataLoss: opts.datastoreAcceptDataLoss ?? false,
  });
  // Readiness gate: the datastore must answer before the API opens.
  try {
    await store.revision();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/**
 * The encryption configuration in force: the user's file, or berth's own. Berth's own stays in
 * force once it exists, even when a later start leaves out --secrets-encryption: the Secrets
 * it encrypted would not read without it.
 */
function encryptionSetup(opts: ServerOptions): { configPath: string; managed: boolean } | undefined {
  if (opts.encryptionProviderConfig && opts.secretsEncryption)
    throw invalidArgument('Use either --secrets-encryption or --encryption-provider-config, not both');
  if (opts.encryptionProviderConfig) return { configPath: opts.encryptionProviderConfig, managed: false };
  if (opts.secretsEncryption)
    return { configPath: ensureGeneratedConfig(opts.dataDir, opts.secretsEncryption), managed: true };
  const own = generatedConfigPath(opts.dataDir);
  return existsSync(own) ? { configPath: own, managed: true } : undefined;
}

/** The audit policy and log; the policy is read before anything starts, so a bad one stops the start. */
function auditSetup(opts: NonNullable<ServerOptions['audit']>): { auditor: Auditor; log: AuditLog } {
  let text: string;
  try {
    text = readFileSync(opts.policyFile, 'utf8');
  } catch (e) {
    throw invalidArgument(`Cannot read audit policy ${opts.policyFile}: ${(e as Error).message}`);
  }
  const policy = parsePolicy(text, opts.policyFile);
  const log = new AuditLog(opts.log, (e) => process.stderr.write(`apiserver: audit log: ${e.message}\n`));
  return { auditor: new Auditor(policy, log), log };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  restrictDataDir(opts.dataDir);
  const creds = ensureCredentials(join(opts.dataDir, 'tls'), opts.bindAddress, {
    serviceIP: (opts.serviceCidr ?? defaultServiceCidr).kubernetesIP,
    ...(opts.tlsSans ? { sans: opts.tlsSans } : {}),
    ...(opts.nodeIPs ? { nodeIPs: opts.nodeIPs } : {}),
  });
  const audit = opts.audit && auditSetup(opts.audit);
  // Read before anything starts, so a bad file stops the start.
  const podSecurity = opts.admissionControlConfigFile
    ? readAdmissionConfiguration(opts.admissionControlConfigFile)
    : undefined;
  const encryption = encryptionSetup(opts);
  const rules = encryption && encryptionRules(readEncryptionConfig(encryption.configPath));
  const datastore = await openDatastore(opts);
  const encrypted = rules && new EncryptedStore(datastore, rules);
  const store = encrypted ?? datastore;
  const secrets = new SecretsEncryption(encrypted, encryption?.configPath, encryption?.managed ?? false);
  try {
    return await serve(opts, creds, store, audit, secrets, podSecurity);
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function serve(
  opts: ServerOptions,
  creds: ReturnType<typeof ensureCredentials>,
  store: Store,
  audit: { auditor: Auditor; log: AuditLog } | undefined,
  secretsEncryption: SecretsEncryption,
  podSecurity: PodSecurityConfig | undefined,
): Promise<RunningServer> {
  const registry = new ResourceRegistry();
  const syncCrd = (crd: KubeObject | undefined, old: KubeObject | undefined) =>
    syncCrdResources(registry, crd, old);
  const policy = new RbacPolicy();
  // Narrows what a node's identity may read to its own pods' objects.
  const nodeGraph = new NodeGraph();
  const authorize: Authorizer = union(mastersBypass, new NodeAuthorizer(nodeGraph), policy);
  const rest = new RestStorage(
    store,
    (r, obj, old) => {
      if (r.kind === 'CustomResourceDefinition') syncCrd(obj, old);
      feedWrite(policy, r, obj, old);
      graphWrite(nodeGraph, r, obj, old);
    },
    defaultAdmission(store, authorize, podSecurity, opts.defaultTolerationSeconds),
    opts.serviceCidr,
  );
  const policyFeed = await feedFromStore(store, policy);
  const graphFeed = await feedNodeGraph(store, nodeGraph).catch((e) => {
    policyFeed.stop();
    throw e;
  });
  // A start that fails after this point stops the feed, so nothing outlives the closed store.
  try {
    const controlPlaneToken = randomBytes(32).toString('base64url');
    const componentTokens = new Map<string, UserInfo>([
      [controlPlaneToken, { name: 'system:kube-controller-manager', groups: ['system:authenticated'] }],
      ...controllerTokens(controlPlaneToken),
    ]);
    const uidOf: UidLookup = async (kind, namespace, name) => {
      const plural = { ServiceAccount: 'serviceaccounts', Pod: 'pods', Secret: 'secrets' }[kind];
      const kv = await store.get(`/registry/core/${plural}/${namespace}/${name}`);
      return kv ? String(decode(kv).metadata?.uid ?? '') : undefined;
    };
    // CRDs stored earlier are served again before the API opens.
    const crdInfo = registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    if (crdInfo)
      for (const kv of (await store.list(resourcePrefix(crdInfo))).items) syncCrd(decode(kv), undefined);

    // Address keys for Services stored before they existed, and none left by Services now gone.
    await new ServiceAllocator(store, opts.serviceCidr).repair();

    let ready = false;
    const host = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress;
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
    const agents = kubeletAgent(creds);
    /** The node a pod runs on (undefined when it has none, or it is gone: the proxy says so). */
    const nodeOf = async (pod: KubeObject) => {
      const nodeInfo = registry.get('', 'v1', 'nodes');
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      return nodeInfo && nodeName ? await unlessNotFound(rest.get(nodeInfo, undefined, nodeName)) : undefined;
    };
    const toNode =
      (proxy: PodProxy): ConnectHandler =>
      async (pod, q, req, res) =>
        proxy(pod, await nodeOf(pod), q, req, res);
    const metrics = resourceMetrics(registry, rest, agents);
    registry.add(componentStatusResource);
    const leases = registry.get('coordination.k8s.io', 'v1', 'leases');
    const componentStatuses = new ComponentStatuses({
      lease: async () =>
        leases ? unlessNotFound(rest.get(leases, 'kube-system', 'berth-controller-manager')) : undefined,
      datastore: async () => {
        await store.get('/registry/core/namespaces/kube-system');
      },
    });
    const handle = makeHandler({
      registry,
      rest,
      store,
      authenticate: authenticator({
        ...creds,
        uidOf,
        componentTokens,
      }),
      serviceAccountKey: creds.saKey,
      authorize,
      rbac: policy,
      serverAddress: `${host}:${opts.port}`,
      ready: () => ready,
      berthEndpoint: secretsEncryptionEndpoint(secretsEncryption),
      ...(audit ? { audit: audit.auditor } : {}),
      metrics,
      componentStatuses,
      connect: {
        'pods/log': toNode(podLogProxy(agents)),
        'pods/exec': toNode(podStreamProxy(agents, 'exec')),
        'pods/attach': toNode(podStreamProxy(agents, 'attach')),
        'pods/portforward': toNode(podStreamProxy(agents, 'portforward')),
      },
    });
    const joins = caCertsHandler(creds);
    // Both listeners are audited: the control plane's own requests arrive on the socket.
    const handler = audit ? audit.auditor.wrap(handle) : handle;
    const server = createServer(
      {
        ...serverTlsOptions,
        key: creds.serverKey,
        cert: creds.serverCert,
        ca: creds.caCert,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        if (!joins(req, res)) void handler(req, res);
      },
    );
    server.keepAliveTimeout = 65_000;
    // exec, attach and port-forward arrive as upgrades: they go through the same handler
    // (authentication, authorization, audit), which hands the connection to the stream proxy.
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (head.length) socket.unshift(head);
      const res = new ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket as Socket);
      res.on('finish', () => socket.end());
      void handler(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.bindAddress, () => resolve());
    });
    // The same API on a Unix socket in the data dir (mode 0600, plain HTTP): the control plane
    // in this process talks to it without TLS on both ends. Requests still authenticate (the
    // control plane's own token); the socket's mode keeps other users out.
    const socketPath = join(opts.dataDir, 'api.sock');
    rmSync(socketPath, { force: true });
    const local = createHttpServer((req, res) => void handler(req, res));
    local.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      local.once('error', reject);
      local.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);

    let aggregation: { stop(): void } | undefined;
    const stopListening = async () => {
      server.closeAllConnections();
      local.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => local.close(() => r()));
      await audit?.log.close();
      aggregation?.stop();
      policyFeed.stop();
      graphFeed.stop();
    };
    try {
      await bootstrap(registry, rest, creds.caCert, {
        address: opts.advertiseAddress ?? host,
        port: opts.port,
        serviceIP: (opts.serviceCidr ?? defaultServiceCidr).kubernetesIP,
      });
      await reconcileBootstrapPolicy(registry, rest);
      aggregation = startAggregation(
        policy,
        rest,
        registry.get('rbac.authorization.k8s.io', 'v1', 'clusterroles') as ResourceInfo,
      );
    } catch (e) {
      await stopListening();
      throw e;
    }
    ready = true;

    const kubeconfigPath = join(opts.dataDir, 'kubeconfig.yaml');
    writeFileAtomicSync(kubeconfigPath, kubeconfigYaml(url, creds), { mode: 0o600 });
    const nodeTokenPath = writeJoinToken(opts.dataDir, creds);
    return {
      server,
      store,
      kubeconfigPath,
      nodeTokenPath,
      url,
      socketPath,
      adminToken: creds.adminToken,
      controlPlaneToken,
      caCert: creds.caCert,
      localTransport: localTransport(handler),
      localNodeToken(nodeName) {
        const token = randomBytes(32).toString('base64url');
        componentTokens.set(token, {
          name: `system:node:${nodeName}`,
          groups: ['system:nodes', 'system:authenticated'],
        });
        return token;
      },
      async close() {
        await stopListening();
        await store.close();
      },
    };
  } catch (e) {
    policyFeed.stop();
    graphFeed.stop();
    throw e;
  }
}

/** The objects every cluster has: system namespaces, their defaults, the built-in classes. */
async function bootstrap(
  registry: ResourceRegistry,
  rest: RestStorage,
  caCert: string,
  apiserver: { address: string; port: number; serviceIP: string },
): Promise<void> {
  const nsInfo = registry.get('', 'v1', 'namespaces');
  const saInfo = registry.get('', 'v1', 'serviceaccounts');
  const cmInfo = registry.get('', 'v1', 'configmaps');
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (nsInfo) await rest.ensure(nsInfo, undefined, { metadata: { name: ns } });
    if (saInfo) await rest.ensure(saInfo, ns, { metadata: { name: 'default' } });
    if (cmInfo)
      await rest.ensure(cmInfo, ns, {
        metadata: { name: 'kube-root-ca.crt' },
        data: { 'ca.crt': caCert },
      });
  }
  // The built-in priority classes that system pods name.
  const pcInfo = registry.get('scheduling.k8s.io', 'v1', 'priorityclasses');
  if (pcInfo)
    for (const [name, value] of [
      ['system-cluster-critical', 2000000000],
      ['system-node-critical', 2000001000],
    ] as const)
      await rest.ensure(pcInfo, undefined, {
        metadata: { name },
        value,
        description: `Used for system critical pods that must ${name === 'system-node-critical' ? 'not be moved from their current node' : 'run in the cluster, but can be moved to another node if necessary'}.`,
      });
  // The default StorageClass, served by the built-in local-path provisioner (as k3s ships one).
  const scInfo = registry.get('storage.k8s.io', 'v1', 'storageclasses');
  if (scInfo) await rest.ensure(scInfo, undefined, structuredClone(defaultStorageClass));
  await ensureKubernetesService(registry, rest, apiserver);
}

/** Reads the admin kubeconfig a server wrote. */
export function readKubeconfig(dataDir: string): string {
  return readFileSync(join(dataDir, 'kubeconfig.yaml'), 'utf8');
}
