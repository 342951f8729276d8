import type { Command } from 'commander';
import { addClusterDnsFlags, type ClusterDnsFlags } from './cluster-dns-flags.js';
import { addIngressFlags, type IngressFlags } from './ingress-flags.js';

const defaultDataDir = () => process.env.BERTH_DATA_DIR ?? '/var/lib/berth/server';

/** The audit flags as the server takes them; either of policy and path without the other is an error. */
async function auditOptions(opts: {
  auditPolicyFile?: string;
  auditLogPath?: string;
  auditLogMaxsize: string;
  auditLogMaxbackup: string;
  auditLogMaxage: string;
}) {
  const { invalidArgument } = await import('../core/errors.js');
  if (!opts.auditPolicyFile && !opts.auditLogPath) return undefined;
  if (!opts.auditPolicyFile || !opts.auditLogPath)
    throw invalidArgument(
      opts.auditPolicyFile
        ? 'Invalid audit flags: --audit-policy-file needs --audit-log-path to say where events go'
        : 'Invalid audit flags: --audit-log-path needs --audit-policy-file to say what to log',
    );
  const count = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw invalidArgument(`Invalid ${flag} "${v}": must be a whole number, 0 or more`);
    return n;
  };
  return {
    policyFile: opts.auditPolicyFile,
    log: {
      target: opts.auditLogPath === '-' ? { stream: process.stdout } : { path: opts.auditLogPath },
      maxSizeMB: count('--audit-log-maxsize', opts.auditLogMaxsize),
      maxBackups: count('--audit-log-maxbackup', opts.auditLogMaxbackup),
      maxAgeDays: count('--audit-log-maxage', opts.auditLogMaxage),
    },
  };
}

/** `--cluster-signing-duration` in whole seconds, at least one. */
async function signingDuration(text: string): Promise<number> {
  const { parseDuration } = await import('../engine/build/config-step.js');
  const { invalidArgument } = await import('../core/errors.js');
  const refuse = () =>
    invalidArgument(
      `Invalid --cluster-signing-duration "${text}": a duration of at least 1s is needed, such as 8760h or 30m`,
    );
  let seconds: number;
  try {
    seconds = Math.floor(parseDuration(text) / 1e9);
  } catch (e) {
    throw Object.assign(refuse(), { cause: e });
  }
  if (seconds < 1) throw refuse();
  return seconds;
}

/** `berth server` and `berth kubeconfig`: the Kubernetes-compatible control plane. */
export function registerServer(program: Command): void {
  addIngressFlags(addClusterDnsFlags(program.command('server')))
    .description(
      'run the Kubernetes-compatible control plane (API server, datastore, scheduler, controllers)',
    )
    .option('--data-dir <dir>', 'cluster state folder', defaultDataDir())
    .option('--https-listen-port <port>', 'HTTPS port of the API server', '6443')
    .option('--bind-address <addr>', 'address to listen on', '127.0.0.1')
    .option(
      '--advertise-address <ip>',
      'where the `kubernetes` Service (the first address of --service-cidr) sends pods (default: the bind address; --node-ip for 0.0.0.0)',
    )
    .option(
      '--service-cidr <cidr>',
      'Service addresses (IPv4, /12 to /28): ClusterIPs come from it, its first address is the `kubernetes` Service',
      '10.43.0.0/16',
    )
    .option(
      '--cluster-dns <ip>',
      'the cluster DNS address, in --service-cidr: every node serves it, pods use it (default: the 10th address of --service-cidr, 10.43.0.10)',
    )
    .option('--datastore-endpoint <url>', 'datastore: empty for the embedded one, or etcd://h1:2379,h2:2379')
    .option(
      '--datastore-accept-data-loss',
      'start even if the SQLite datastore lacks revisions it acknowledged (a damaged WAL, a restored backup); new revisions continue after the last acknowledged one',
    )
    .option(
      '--secrets-encryption',
      'encrypt Secrets at rest with a key the server keeps in DATA_DIR/cred/encryption-config.json (see berth secrets-encrypt)',
    )
    .option(
      '--secrets-encryption-provider <cipher>',
      'cipher for --secrets-encryption: aescbc or aesgcm',
      'aescbc',
    )
    .option(
      '--encryption-provider-config <file>',
      'encrypt at rest as this EncryptionConfiguration (apiserver.config.k8s.io/v1) says',
    )
    .option(
      '--admission-control-config-file <file>',
      "admission plugins' configuration (an apiserver.config.k8s.io/v1 AdmissionConfiguration: PodSecurity's defaults and exemptions)",
    )
    .option('--audit-policy-file <file>', 'audit requests as this audit.k8s.io/v1 Policy says')
    .option('--audit-log-path <file>', 'append audit events (JSON lines) to this file; - is standard output')
    .option(
      '--audit-log-maxsize <MB>',
      'rotate the audit log when it would pass this many megabytes (0: 100)',
      '0',
    )
    .option('--audit-log-maxbackup <n>', 'rotated audit logs to keep (0: all)', '0')
    .option('--audit-log-maxage <days>', 'days to keep rotated audit logs (0: no limit)', '0')
    .option(
      '--tls-san <name>',
      "another DNS name or IP address for the API server's certificate (repeatable)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--disable-agent', 'do not run the embedded node agent')
    .option('--node-name <name>', "the embedded agent's node name (default: the host name)")
    .option(
      '--node-ip <ip>',
      "the embedded agent's InternalIP (default: the default-route interface's address)",
    )
    .option(
      '--kubelet-port <port>',
      "the embedded agent's HTTPS endpoint port (logs); 0 picks a free one",
      '10250',
    )
    .option(
      '--pod-runtime <name>',
      'what runs pods on the embedded agent: engine or sim (in memory)',
      'engine',
    )
    .option(
      '--eviction-hard <thresholds>',
      "the embedded agent's hard eviction thresholds, SIGNAL<QUANTITY or SIGNAL<PERCENT, comma-separated; unnamed ones keep the defaults (memory.available<100Mi,nodefs.available<10%,imagefs.available<15%)",
    )
    .option('--cluster-cidr <cidr>', 'pod addresses: each node gets a /24 of this range', '10.42.0.0/16')
    .option(
      '--flannel-backend <name>',
      "how the embedded agent's pods reach other nodes' pods: host-gw, vxlan or auto",
      'auto',
    )
    .option('--cleanup', 'remove what the embedded agent added to this node, then exit')
    .option(
      '--node-monitor-grace-period <seconds>',
      'a node not heard from for this long is NotReady (its heartbeat is every 10 s)',
      '20',
    )
    .option(
      '--default-toleration-seconds <seconds>',
      'how long pods stay on a not-ready or unreachable node before they are evicted',
      '30',
    )
    .option(
      '--cluster-signing-duration <duration>',
      'the longest life of a certificate signed for a CertificateSigningRequest, node certificates included (a Go duration)',
      '8760h',
    )
    .option(
      '--controllers <list>',
      'controllers to run: * for all, NAME to add, -NAME to leave out (see docs/controllers.md)',
      '*',
    )
    .action(
      async (
        opts: {
          dataDir: string;
          httpsListenPort: string;
          bindAddress: string;
          tlsSan: string[];
          advertiseAddress?: string;
          datastoreEndpoint?: string;
          datastoreAcceptDataLoss?: boolean;
          secretsEncryption?: boolean;
          secretsEncryptionProvider: string;
          encryptionProviderConfig?: string;
          auditPolicyFile?: string;
          admissionControlConfigFile?: string;
          auditLogPath?: string;
          auditLogMaxsize: string;
          auditLogMaxbackup: string;
          auditLogMaxage: string;
          controllers: string;
          clusterSigningDuration: string;
          nodeMonitorGracePeriod: string;
          defaultTolerationSeconds: string;
          disableAgent?: boolean;
          nodeName?: string;
          nodeIp?: string;
          podRuntime: string;
          kubeletPort: string;
          clusterCidr: string;
          serviceCidr: string;
          clusterDns?: string;
          flannelBackend: string;
          evictionHard?: string;
          cleanup?: boolean;
        } & ClusterDnsFlags &
          IngressFlags,
        cmd: Command,
      ) => {
        if (opts.cleanup) {
          const { cleanupCommand } = await import('./agent.js');
          const g = cmd.optsWithGlobals() as { root: string; runroot: string };
          return cleanupCommand({ ...g, dataDir: `${opts.dataDir}/agent` });
        }
        const { parseControllers } = await import('../cluster/controllers/manager.js');
        const enabled = parseControllers(opts.controllers);
        const { ingressSettings } = await import('../cluster/ingress/settings.js');
        const ingress = ingressSettings(opts);
        // Without the built-in Ingress controller nothing writes its Ingresses' status.
        if (!ingress) enabled.delete('ingress');
        const { startServer } = await import('../cluster/apiserver/server.js');
        const seconds = async (flag: string, v: string) => {
          const n = Number(v);
          if (!Number.isFinite(n) || n < 0) {
            const { invalidArgument } = await import('../core/errors.js');
            throw invalidArgument(`Invalid ${flag} "${v}": must be a number of seconds`);
          }
          return n;
        };
        const { parseClusterCidr } = await import('../cluster/controllers/node-ipam.js');
        parseClusterCidr(opts.clusterCidr);
        const { parseBackend } = await import('../cluster/podnet/plan.js');
        parseBackend(opts.flannelBackend);
        const { parseServiceCidr, clusterDnsAddress } = await import('../cluster/apiserver/service-cidr.js');
        const serviceCidr = parseServiceCidr(opts.serviceCidr);
        const clusterDns = clusterDnsAddress(serviceCidr, opts.clusterDns);
        const grace = await seconds('--node-monitor-grace-period', opts.nodeMonitorGracePeriod);
        const tolerate = await seconds('--default-toleration-seconds', opts.defaultTolerationSeconds);
        const port = Number(opts.httpsListenPort);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          const { invalidArgument } = await import('../core/errors.js');
          throw invalidArgument(
            `Invalid --https-listen-port "${opts.httpsListenPort}": must be a port number`,
          );
        }
        const cipher = opts.secretsEncryptionProvider;
        if (cipher !== 'aescbc' && cipher !== 'aesgcm') {
          const { invalidArgument } = await import('../core/errors.js');
          throw invalidArgument(`Invalid --secrets-encryption-provider "${cipher}": use aescbc or aesgcm`);
        }
        const audit = await auditOptions(opts);
        const signingSeconds = await signingDuration(opts.clusterSigningDuration);
        const { join } = await import('node:path');
        const { checkTlsSans } = await import('../cluster/apiserver/tls.js');
        const { defaultNodeIP } = await import('../cluster/agent/machine.js');
        // Pods cannot reach a loopback address: with every address bound, the node's is advertised.
        const advertise =
          opts.advertiseAddress ??
          (opts.bindAddress === '0.0.0.0' ? (opts.nodeIp ?? defaultNodeIP()) : undefined);
        const s = await startServer({
          dataDir: opts.dataDir,
          port,
          bindAddress: opts.bindAddress,
          tlsSans: checkTlsSans(opts.tlsSan),
          nodeIPs: [opts.nodeIp ?? defaultNodeIP()],
          ...(advertise ? { advertiseAddress: advertise } : {}),
          serviceCidr,
          ...(opts.datastoreEndpoint ? { datastoreEndpoint: opts.datastoreEndpoint } : {}),
          datastoreAcceptDataLoss: opts.datastoreAcceptDataLoss ?? false,
          ...(opts.secretsEncryption ? { secretsEncryption: cipher } : {}),
          ...(opts.encryptionProviderConfig
            ? { encryptionProviderConfig: opts.encryptionProviderConfig }
            : {}),
          ...(audit ? { audit } : {}),
          ...(opts.admissionControlConfigFile
            ? { admissionControlConfigFile: opts.admissionControlConfigFile }
            : {}),
          defaultTolerationSeconds: tolerate,
        });
        let plane: { stop(): Promise<void> } | undefined;
        if (enabled.size) {
          const { startControlPlaneThread } = await import('../cluster/controllers/plane-host.js');
          // The controllers run on a thread of their own and use the API's local socket: no
          // TLS on either end, and a second core for the control plane.
          plane = await startControlPlaneThread(
            { server: s.url, socketPath: s.socketPath, token: s.controlPlaneToken, ca: s.caCert },
            enabled,
            {
              nodeMonitorGracePeriodMs: grace * 1000,
              clusterCidr: opts.clusterCidr,
              clusterSigning: {
                certFile: join(opts.dataDir, 'tls', 'ca.crt'),
                keyFile: join(opts.dataDir, 'tls', 'ca.key'),
                durationSeconds: signingSeconds,
              },
            },
          );
        }
        // Every node serves the cluster DNS address; the Service names it for clients and tools.
        const [{ ensureKubeDnsService }, { KubeClient }] = await Promise.all([
          import('../cluster/dns/kube-dns-service.js'),
          import('../cluster/client/kube-client.js'),
        ]);
        const admin = new KubeClient({ server: s.url, socketPath: s.socketPath, token: s.adminToken });
        await ensureKubeDnsService(admin, clusterDns);
        if (ingress) {
          const { ensureIngressClass } = await import('../cluster/ingress/ingress-class.js');
          await ensureIngressClass(admin);
        }
        let agent: { stop(): void } | undefined;
        if (!opts.disableAgent) {
          const { startAgentFromCli } = await import('../cluster/agent/start.js');
          // A long-lived process: commands start from a small helper (src/core/spawner.ts).
          (await import('../core/exec.js')).runCommandsThroughHelper();
          agent = await startAgentFromCli({
            server: s.url,
            tokenFile: s.nodeTokenPath,
            ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
            ...(opts.nodeIp ? { nodeIP: opts.nodeIp } : {}),
            dataDir: join(opts.dataDir, 'agent'),
            root: (cmd.optsWithGlobals() as { root: string }).root,
            runroot: (cmd.optsWithGlobals() as { runroot: string }).runroot,
            podRuntime: opts.podRuntime,
            port: Number(opts.kubeletPort),
            flannelBackend: opts.flannelBackend,
            controlPlane: true,
            dns: { clusterDomain: opts.clusterDomain, resolvConf: opts.resolvConf },
            clusterCidr: opts.clusterCidr,
            ...(ingress ? { ingress } : {}),
            localApi: (nodeName) =>
              new KubeClient({
                server: s.url,
                transport: s.localTransport,
                token: s.localNodeToken(nodeName),
              }),
            ...(opts.evictionHard !== undefined ? { evictionHard: opts.evictionHard } : {}),
          });
        }
        process.stdout.write(
          `Kubeconfig: ${s.kubeconfigPath}\nBerth cluster is ready: API server at ${s.url}\n`,
        );
        const stop = () => {
          agent?.stop();
          // Give the controller Lease up first, so another server can lead at once.
          // Stopping goes on whatever the controllers answer; a failure is still said.
          void Promise.resolve(plane?.stop())
            .catch((e: unknown) =>
              process.stderr.write(
                `berth server: stopping the controllers failed: ${(e as Error).message}\n`,
              ),
            )
            .then(() => s.close())
            .then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await new Promise(() => {});
      },
    );
  program
    .command('kubeconfig')
    .description(
      "print the cluster's admin kubeconfig, or with --user one for a new user with a client certificate signed by the cluster CA",
    )
    .option('--data-dir <dir>', 'cluster state folder', defaultDataDir())
    .option('--user <name>', 'the user the certificate names (its CN); RBAC bindings grant it rights')
    .option(
      '--group <group>',
      'a group of the user (its O); repeat for several',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(async (opts: { dataDir: string; user?: string; group: string[] }) => {
      const { existsSync, readFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const p = join(opts.dataDir, 'kubeconfig.yaml');
      if (!existsSync(p)) {
        const { notFound } = await import('../core/errors.js');
        throw notFound(
          `No kubeconfig at ${p}: start the cluster with "berth server --data-dir ${opts.dataDir}" first`,
        );
      }
      const admin = readFileSync(p, 'utf8');
      if (opts.user === undefined) {
        if (opts.group.length) {
          const { invalidArgument } = await import('../core/errors.js');
          throw invalidArgument('--group needs --user: name the user the groups belong to');
        }
        process.stdout.write(admin);
        return;
      }
      const { userKubeconfigForDataDir } = await import('../cluster/apiserver/user-kubeconfig.js');
      process.stdout.write(userKubeconfigForDataDir(opts.dataDir, admin, opts.user, opts.group));
    });
}
