import type { Command } from 'commander';

/** `berth sim nodes`: simulated nodes for tests and benchmarks of the control plane. */
export function registerSim(program: Command): void {
  const sim = program.command('sim').description('simulate cluster parts for tests and benchmarks');
  sim
    .command('nodes')
    .description('register simulated nodes that run bound pods without containers (until stopped)')
    .option('--count <n>', 'how many nodes', '3')
    .option('--name-prefix <prefix>', 'node name prefix', 'sim-')
    .option(
      '--kubeconfig <file>',
      'kubeconfig of the cluster',
      process.env.KUBECONFIG ?? '/var/lib/berth/server/kubeconfig.yaml',
    )
    .option('--cpu <cpu>', 'CPU capacity of each node', '8')
    .option('--memory <mem>', 'memory capacity of each node', '32Gi')
    .option('--job-seconds <s>', 'seconds until a Job pod succeeds', '5')
    .option('--heartbeat-seconds <s>', 'how often each node renews its Lease and status', '10')
    .action(
      async (opts: {
        count: string;
        namePrefix: string;
        kubeconfig: string;
        cpu: string;
        memory: string;
        jobSeconds: string;
        heartbeatSeconds: string;
      }) => {
        const { invalidArgument } = await import('../core/errors.js');
        const count = Number(opts.count);
        if (!Number.isInteger(count) || count < 1)
          throw invalidArgument(`Invalid --count "${opts.count}": a whole number of at least 1`);
        const { KubeClient } = await import('../cluster/client/kube-client.js');
        const { startSimNodes } = await import('../cluster/sim/sim-nodes.js');
        const client = KubeClient.fromKubeconfig(opts.kubeconfig);
        const sim = await startSimNodes(client, {
          count,
          prefix: opts.namePrefix,
          cpu: opts.cpu,
          memory: opts.memory,
          jobSeconds: Number(opts.jobSeconds),
          heartbeatMs: Number(opts.heartbeatSeconds) * 1000,
        });
        process.stdout.write(`${sim.names.length} simulated nodes are ready (${opts.namePrefix}0...)\n`);
        const stop = () => {
          sim.stop();
          client.close();
          process.exit(0);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await new Promise(() => {});
      },
    );
}
