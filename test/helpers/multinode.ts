/**
 * Several nodes on one machine, each a network namespace of its own (a sandbox: own --root,
 * --runroot and data dir), joined by a "wire": a network namespace holding a bridge with a
 * veth to every node (one shared subnet, 10.99.0.0/24), or with `routed`, a router with a
 * subnet per node (10.99.N.0/24, so nodes share no link and the pod network needs VXLAN).
 * Node 0 runs `berth server` with its embedded agent; the others run `berth agent` joining it
 * with the server's token. Cleanup (also when start-up fails half-way) removes every sandbox
 * and the wire namespace; nothing touches the host's own network.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type RunResult, run } from '../../src/core/exec.js';
import { importBusybox } from './busybox-image.js';
import { startCluster, type TestCluster, until, waitForOutput } from './cluster.js';
import { berthBin, type Sandbox, sandbox } from './sandbox.js';

export interface ClusterNode {
  name: string;
  /** The node's address on the wire (its InternalIP). */
  ip: string;
  box: Sandbox;
  /** The node's network as the test made it, before any Berth process ran there. */
  baseline: string;
  /** Stops the node's agent (SIGTERM) and waits for it to exit; not for node 0. */
  stopAgent(): Promise<void>;
  /** Starts the node's agent again (same flags and data dir) and waits until it runs pods. */
  startAgent(): Promise<void>;
}

export interface MultiNode {
  cluster: TestCluster;
  nodes: ClusterNode[];
  /** An address on the wire outside the cluster: it has no route to any pod range. */
  outside: string;
  /** Runs a command in the wire's network namespace, the outside's point of view (never throws). */
  fromOutside(file: string, args: readonly string[]): Promise<RunResult>;
  cleanup(): Promise<void>;
}

export interface MultiNodeOptions {
  count?: number;
  routed?: boolean;
  backend?: 'host-gw' | 'vxlan' | 'auto';
}

const ipIn = (box: Sandbox | string, args: string[]) =>
  run('ip', ['-n', typeof box === 'string' ? box : box.netns!, ...args]);

/**
 * The parts of a namespace's network that Berth could change: links (name and kind),
 * addresses, routes of every table, nftables rules (iptables-nft's included), one per line.
 */
export async function networkState(box: Sandbox): Promise<string> {
  const j = async (args: string[]) => JSON.parse((await ipIn(box, ['-j', ...args])).stdout || '[]');
  const links = (await j(['-d', 'link', 'show'])).map(
    (l: { ifname: string; linkinfo?: { info_kind?: string } }) =>
      `link ${l.ifname} ${l.linkinfo?.info_kind ?? ''}`,
  );
  const addrs = (await j(['addr', 'show'])).flatMap(
    (l: { ifname: string; addr_info: { local: string; prefixlen: number }[] }) =>
      l.addr_info.map((a) => `addr ${l.ifname} ${a.local}/${a.prefixlen}`),
  );
  const routes = (await j(['route', 'show', 'table', 'all'])).map(
    (r: { dst: string; gateway?: string; dev?: string; table?: string }) =>
      `route ${r.table ?? 'main'} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''}`,
  );
  const nft = (await box.exec('nft', ['list', 'ruleset'])).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => `nft ${l}`);
  // IPv6 link-local addresses and their routes are the kernel's, and appear on its own schedule.
  return [...links, ...addrs, ...routes, ...nft]
    .filter((l) => !l.includes(' fe80:'))
    .sort()
    .join('\n');
}

/** The engine name of the first container of pod `podName` on a node (`berth ps`). */
export async function podContainer(box: Sandbox, podName: string): Promise<string> {
  const ps = await box.berth([
    'ps',
    '--filter',
    `label=io.kubernetes.pod.name=${podName}`,
    '--format',
    '{{.Names}}',
  ]);
  const name = ps.stdout.trim().split('\n')[0];
  if (ps.code !== 0 || !name) throw new Error(`no container of pod ${podName}: ${ps.stderr}`);
  return name;
}

/** Runs a command in a pod's container through the node's engine (`berth exec`; never throws). */
export async function inPod(box: Sandbox, podName: string, cmd: readonly string[]): Promise<RunResult> {
  return box.berth(['exec', await podContainer(box, podName), ...cmd], { check: false });
}

export async function startMultiNode(
  t: TestContext | undefined,
  o: MultiNodeOptions = {},
): Promise<MultiNode> {
  const count = o.count ?? 2;
  const backend = o.backend ?? 'auto';
  const wire = `berth-wire-${randomBytes(4).toString('hex')}`;
  const boxes: Sandbox[] = [];
  const cleanup = async () => {
    for (const b of [...boxes].reverse()) await b.cleanup();
    await run('ip', ['netns', 'delete', wire], { check: false });
  };
  t?.after(cleanup);
  try {
    await run('ip', ['netns', 'add', wire]);
    await ipIn(wire, ['link', 'set', 'lo', 'up']);
    if (o.routed)
      await run('nsenter', [`--net=/run/netns/${wire}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    else {
      await ipIn(wire, ['link', 'add', 'wire', 'type', 'bridge']);
      await ipIn(wire, ['addr', 'add', '10.99.0.254/24', 'dev', 'wire']);
      await ipIn(wire, ['link', 'set', 'wire', 'up']);
    }
    const ips: string[] = [];
    for (let i = 0; i < count; i++) {
      const box = await sandbox(undefined, { netns: true });
      boxes.push(box);
      await ipIn(wire, ['link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', box.netns!]);
      const ip = o.routed ? `10.99.${i + 1}.1` : `10.99.0.${i + 1}`;
      if (o.routed) await ipIn(wire, ['addr', 'add', `10.99.${i + 1}.254/24`, 'dev', `v${i}`]);
      else await ipIn(wire, ['link', 'set', `v${i}`, 'master', 'wire']);
      await ipIn(wire, ['link', 'set', `v${i}`, 'up']);
      await ipIn(box, ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await ipIn(box, ['link', 'set', 'eth0', 'up']);
      if (o.routed) await ipIn(box, ['route', 'add', 'default', 'via', `10.99.${i + 1}.254`]);
      ips.push(ip);
    }
    const baselines = await Promise.all(boxes.map(networkState));
    for (const b of boxes) await importBusybox(b, 'busybox:local');
    const cluster = await startCluster(undefined, {
      box: boxes[0]!,
      controllers: '*',
      agent: true,
      args: [
        '--bind-address',
        ips[0]!,
        '--node-ip',
        ips[0]!,
        '--node-name',
        'n0',
        '--flannel-backend',
        backend,
      ],
    });
    const nodes: ClusterNode[] = [];
    for (const [i, box] of boxes.entries()) {
      const name = `n${i}`;
      let agent: ChildProcess | undefined;
      const startAgent = async () => {
        agent = box.spawn(
          berthBin,
          [
            '--root',
            box.root,
            '--runroot',
            box.runroot,
            'agent',
            '--server',
            `https://${ips[0]}:${cluster.port}`,
            '--token-file',
            join(cluster.dataDir, 'node-token'),
            '--node-name',
            name,
            '--node-ip',
            ips[i]!,
            '--data-dir',
            join(box.dir, 'agent'),
            '--kubelet-port',
            '0',
            '--flannel-backend',
            backend,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { BERTH_LOG_LEVEL: 'info' } },
        );
        // The agent runs pods once its pod network is prepared (VXLAN device, MTU).
        await waitForOutput(agent, /"msg":"running pods"/, `the agent of ${name}`);
      };
      if (i > 0) await startAgent();
      nodes.push({
        name,
        ip: ips[i]!,
        box,
        baseline: baselines[i]!,
        stopAgent: async () => {
          const a = agent;
          if (!a || a.exitCode !== null || a.signalCode !== null) return;
          const exited = new Promise((r) => a.once('exit', r));
          a.kill('SIGTERM');
          await exited;
        },
        startAgent: async () => {
          if (i === 0) throw new Error('node 0 runs the server and its embedded agent');
          await startAgent();
        },
      });
    }
    await until(
      `${count} nodes Ready`,
      async () => {
        const items = (await cluster.json(['get', 'nodes'])).items as {
          status?: { conditions?: { type: string; status: string }[] };
        }[];
        return (
          items.filter((n) =>
            (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
          ).length === count
        );
      },
      60_000,
    );
    return {
      cluster,
      nodes,
      outside: o.routed ? '10.99.1.254' : '10.99.0.254',
      fromOutside: (file, args) =>
        run('nsenter', [`--net=/run/netns/${wire}`, file, ...args], { check: false, timeoutMs: 60_000 }),
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
