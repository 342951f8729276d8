import type { Command } from 'commander';
import { addClusterDnsFlags, type ClusterDnsFlags } from './cluster-dns-flags.js';
import { addIngressFlags, type IngressFlags } from './ingress-flags.js';

/** `berth agent`: a node agent joining a cluster. */
export function registerAgent(program: Command): void {
  addIngressFlags(addClusterDnsFlags(program.command('agent')))
    .description('run a node agent that joins a cluster and runs the pods bound to its node')
    .option('--server <url>', 'the API server to join (https://HOST:PORT)')
    .option('--token-file <file>', "the server's join token (its DATA_DIR/node-token)")
    .option('--node-name <name>', 'the node name (default: the host name)')
    .option('--node-ip <ip>', "the node's InternalIP (default: the default-route interface's address)")
    .option('--data-dir <dir>', "the agent's credentials folder", '/var/lib/berth/agent')
    .option('--kubelet-port <port>', "the agent's HTTPS endpoint port (logs); 0 picks a free one", '10250')
    .option('--pod-runtime <name>', 'what runs pods: engine or sim (in memory)', 'engine')
    .option(
      '--cluster-cidr <cidr>',
      "the cluster's pod addresses (the server's --cluster-cidr)",
      '10.42.0.0/16',
    )
    .option(
      '--flannel-backend <name>',
      "how pods reach other nodes' pods: host-gw, vxlan, or auto (host-gw to peers on a shared subnet, vxlan to the rest)",
      'auto',
    )
    .option(
      '--eviction-hard <thresholds>',
      'hard eviction thresholds, SIGNAL<QUANTITY or SIGNAL<PERCENT, comma-separated; unnamed ones keep the defaults (memory.available<100Mi,nodefs.available<10%,imagefs.available<15%)',
    )
    .option(
      '--cleanup',
      'remove what the agent added to this node (pods, the mounts of their volumes, bridge, routes, VXLAN device, Service and pod network rules, conntrack entries), then exit',
    )
    .action(
      async (
        opts: {
          server?: string;
          tokenFile?: string;
          nodeName?: string;
          nodeIp?: string;
          dataDir: string;
          podRuntime: string;
          kubeletPort: string;
          clusterCidr: string;
          flannelBackend: string;
          evictionHard?: string;
          cleanup?: boolean;
        } & ClusterDnsFlags &
          IngressFlags,
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals() as { root: string; runroot: string };
        if (opts.cleanup) return cleanupCommand({ ...g, dataDir: opts.dataDir });
        if (!opts.server || !opts.tokenFile) {
          const { invalidArgument } = await import('../core/errors.js');
          throw invalidArgument('The agent needs --server and --token-file (or --cleanup)');
        }
        const [{ startAgentFromCli }, { ingressSettings }] = await Promise.all([
          import('../cluster/agent/start.js'),
          import('../cluster/ingress/settings.js'),
        ]);
        const ingress = ingressSettings(opts);
        // A long-lived process: commands start from a small helper (src/core/spawner.ts).
        (await import('../core/exec.js')).runCommandsThroughHelper();
        const agent = await startAgentFromCli({
          server: opts.server,
          tokenFile: opts.tokenFile,
          flannelBackend: opts.flannelBackend,
          ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
          ...(opts.nodeIp ? { nodeIP: opts.nodeIp } : {}),
          dataDir: opts.dataDir,
          root: g.root,
          runroot: g.runroot,
          podRuntime: opts.podRuntime,
          port: Number(opts.kubeletPort),
          clusterCidr: opts.clusterCidr,
          dns: opts,
          ...(ingress ? { ingress } : {}),
          ...(opts.evictionHard !== undefined ? { evictionHard: opts.evictionHard } : {}),
        });
        process.stdout.write(`Node ${agent.nodeName} joined ${opts.server}\n`);
        const stop = () => {
          agent.stop();
          process.exit(0);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await new Promise(() => {});
      },
    );
}

/** `--cleanup` of `berth agent` and `berth server`: prints what it removed. */
export async function cleanupCommand(g: { root: string; runroot: string; dataDir: string }): Promise<void> {
  const { cleanupNode } = await import('../cluster/agent/cleanup.js');
  const done = await cleanupNode(g);
  process.stdout.write(done.length ? `Removed ${done.join(', ')}\n` : 'Nothing to remove\n');
}
