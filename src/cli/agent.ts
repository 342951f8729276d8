import type { Command } from 'commander';
import { addClusterDnsFlags, type ClusterDnsFlags } from './cluster-dns-flags.js';

/** `berth agent`: a node agent joining a cluster. */
export function registerAgent(program: Command): void {
  addClusterDnsFlags(program.command('agent'))
    .description('run a node agent that joins a cluster and runs the pods bound to its node')
    .option('--server <url>', 'the API server to join (https://HOST:PORT)')
    .option('--token-file <file>', "the server's join token (its DATA_DIR/node-token)")
    .option('--node-name <name>', 'the node name (default: the host name)')
    .option('--node-ip <ip>', "the node's InternalIP (default: the default-route interface's address)")
    .option('--data-dir <dir>', "the agent's credentials folder", '/var/lib/berth/agent')
    .option('--kubelet-port <port>', "the agent's HTTPS endpoint port (logs); 0 picks a free one", '10250')
    .option('--pod-runtime <name>', 'what runs pods: engine or sim (in memory)', 'engine')
    .option('--cleanup', 'remove what the agent added to this node (the cluster DNS interface) and exit')
    .action(
      async (
        opts: {
          server?: string;
          tokenFile?: string;
          cleanup?: boolean;
          nodeName?: string;
          nodeIp?: string;
          dataDir: string;
          podRuntime: string;
          kubeletPort: string;
        } & ClusterDnsFlags,
        cmd: Command,
      ) => {
        if (opts.cleanup) {
          const { removeDnsInterface } = await import('../cluster/dns/node-dns.js');
          if (await removeDnsInterface()) process.stdout.write('Removed the cluster DNS interface\n');
          return;
        }
        if (!opts.server || !opts.tokenFile) {
          const { invalidArgument } = await import('../core/errors.js');
          throw invalidArgument('berth agent needs --server and --token-file to join a cluster');
        }
        const g = cmd.optsWithGlobals() as { root: string; runroot: string };
        const { startAgentFromCli } = await import('../cluster/agent/start.js');
        const agent = await startAgentFromCli({
          server: opts.server,
          tokenFile: opts.tokenFile,
          ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
          ...(opts.nodeIp ? { nodeIP: opts.nodeIp } : {}),
          dataDir: opts.dataDir,
          root: g.root,
          runroot: g.runroot,
          podRuntime: opts.podRuntime,
          port: Number(opts.kubeletPort),
          dns: opts,
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
