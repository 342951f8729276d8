/**
 * Starts a real `berth server --disable-agent` (or, with `agent`, with its embedded agent) in a sandbox on a free port with its own data
 * dir, and runs the real kubectl against it (its own HOME, so discovery caches never leak).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type RunResult, run } from '../../src/core/exec.js';
import { importBusybox } from './busybox-image.js';
import { freePort } from './etcd.js';
import { berthBin, type Sandbox, sandbox } from './sandbox.js';
import { until } from './until.js';

export interface TestCluster {
  box: Sandbox;
  dataDir: string;
  kubeconfig: string;
  port: number;
  /** Kills the server with SIGKILL and starts it again on the same data dir and port. */
  restart(): Promise<void>;
  /** Stops the server: SIGKILL, or SIGTERM for a clean shutdown. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts the stopped server again, with `extraArgs` added, and waits until it is ready. */
  start(extraArgs?: string[]): Promise<void>;
  /** The server's command line (after berthBin), for a test that expects it to fail. */
  serverArgs: string[];
  /** Everything the server printed (its log lines), across restarts. */
  serverLog(): string;
  /** kubectl's environment (its own HOME, this cluster's KUBECONFIG), for a test that starts a streaming kubectl itself. */
  kubectlEnv: NodeJS.ProcessEnv;
  /** Runs kubectl; never throws on a non-zero exit. */
  kubectl(args: readonly string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** `kubectl ARGS` (with `input` on its stdin) that must succeed: its stdout; throws with kubectl's stderr. */
  ok(args: readonly string[], input?: string): Promise<string>;
  /** `kubectl ARGS -o json`, parsed; throws with kubectl's stderr when it fails. */
  // biome-ignore lint/suspicious/noExplicitAny: objects read back from kubectl
  json(args: readonly string[]): Promise<any>;
  /** `kubectl apply` of the objects (as one List); throws with kubectl's stderr when it fails. */
  apply(...objs: unknown[]): Promise<void>;
  /** Waits until pod `name` (in the default namespace) is Running, for up to `timeoutMs` (a minute). */
  running(name: string, timeoutMs?: number): Promise<void>;
}

/** Starts a server and waits until it prints that the cluster is ready. */
/**
 * `controllers` is passed as `--controllers`; the default runs none, so tests of the API alone
 * see exactly the objects they make.
 */
export async function startCluster(
  t: TestContext | undefined,
  options: { controllers?: string; args?: string[]; agent?: boolean; netns?: boolean; box?: Sandbox } = {},
): Promise<TestCluster> {
  // With a network namespace the server (and kubectl, to reach it) runs inside it. A caller
  // that has prepared a sandbox (its namespace wired to others) passes it as `box`.
  const box = options.box ?? (await sandbox(t, { netns: options.netns ?? false }));
  const inNetns = !!box.netns;
  const dataDir = join(box.dir, 'server');
  const home = join(box.dir, 'home');
  mkdirSync(home);
  const port = await freePort();
  let serverLog = '';
  const serverArgs = [
    'server',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    String(port),
    ...(options.agent ? [] : ['--disable-agent']),
    `--controllers=${options.controllers ?? ''}`,
    ...(options.args ?? []),
  ];
  const start = async (extraArgs: string[] = []) => {
    const child = box.spawn(berthBin, [...serverArgs, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = (d: Buffer) => {
      serverLog += d.toString();
    };
    child.stdout?.on('data', log);
    child.stderr?.on('data', log);
    await waitForOutput(child, /cluster is ready/, 'berth server', 60_000);
    return child;
  };
  // A caller whose cluster never started has nothing to clean up with: the sandbox made here goes now.
  let child = await start().catch(async (e: unknown) => {
    if (!options.box) await box.cleanup();
    throw e;
  });
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const kubectlEnv = { ...process.env, HOME: home, KUBECONFIG: kubeconfig };
  const kubectl: TestCluster['kubectl'] = (args, opts = {}) =>
    (inNetns ? box.exec : run)('kubectl', args, {
      check: false,
      timeoutMs: 60_000,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      env: { ...kubectlEnv, ...opts.env },
    });
  const json: TestCluster['json'] = async (args) =>
    JSON.parse(checked(await kubectl([...args, '-o', 'json']), args));
  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  return {
    box,
    dataDir,
    kubeconfig,
    port,
    serverArgs,
    stop,
    start: async (extraArgs) => {
      child = await start(extraArgs);
    },
    serverLog: () => serverLog,
    restart: async () => {
      await stop();
      child = await start();
    },
    kubectlEnv,
    kubectl,
    ok: async (args, input) => checked(await kubectl(args, input === undefined ? {} : { input }), args),
    json,
    apply: async (...objs) => {
      const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs });
      checked(await kubectl(['apply', '-f', '-'], { input }), ['apply']);
    },
    running: (name, timeoutMs = 60_000) =>
      until(
        `${name} Running`,
        async () => (await json(['get', 'pod', name])).status?.phase === 'Running',
        timeoutMs,
      ),
  };
}

/** kubectl's stdout, or an error with its stderr when it failed. */
function checked(r: RunResult, args: readonly string[]): string {
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * The cluster the node agent's tests share: a server with its embedded agent (node `n1`,
 * the engine runtime) in a network namespace of its own, with busybox imported into its
 * engine as `busybox:local`, once n1 is Ready. With `nodeIP` the node has that address on a
 * wire whose far end (.254) is its default route, as a real node has (wireNode).
 */
export async function startAgentCluster(
  t: TestContext | undefined,
  options: { args?: string[]; nodeIP?: string } = {},
): Promise<TestCluster> {
  const c = await startCluster(t, {
    controllers: '*',
    agent: true,
    netns: true,
    args: [
      '--node-name',
      'n1',
      ...(options.nodeIP ? ['--node-ip', options.nodeIP] : []),
      ...(options.args ?? []),
    ],
  });
  try {
    if (options.nodeIP) await wireNode(c.box, options.nodeIP, options.nodeIP.replace(/\.\d+$/, '.254'));
    await importBusybox(c.box, 'busybox:local');
    await until(
      'n1 Ready',
      async () =>
        ((await c.json(['get', 'node', 'n1'])).status.conditions ?? []).some(
          (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
        ),
      30_000,
    );
  } catch (e) {
    await c.box.cleanup();
    throw e;
  }
  return c;
}

/**
 * A pod of startAgentCluster's `busybox:local` that only sleeps (a client, or a namespace to
 * start a server in), with `labels` and any further `spec` fields.
 */
export function sleeperPod(
  name: string,
  labels: Record<string, string> = {},
  spec: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'main', image: 'busybox:local', imagePullPolicy: 'IfNotPresent', command: ['sleep', '1000'] },
      ],
      ...spec,
    },
  };
}

/** Gives the sandbox's namespace `nodeIP`/24 on a veth wire, with a default route through `gateway`. */
export async function wireNode(box: Sandbox, nodeIP: string, gateway: string): Promise<void> {
  for (const args of [
    ['link', 'add', 'wire0', 'type', 'veth', 'peer', 'name', 'wire1'],
    ['addr', 'add', `${nodeIP}/24`, 'dev', 'wire0'],
    ['link', 'set', 'wire0', 'up'],
    ['link', 'set', 'wire1', 'up'],
    ['route', 'add', 'default', 'via', gateway, 'dev', 'wire0', 'onlink'],
  ])
    await box.exec('ip', args);
}

/**
 * Starts `berth sim nodes ARGS` against the cluster and resolves once its nodes are ready.
 * The process belongs to the cluster's sandbox (cleaned up with it); stopping it is how a
 * test makes its nodes fail.
 */
export async function startSim(c: TestCluster, args: readonly string[]): Promise<ChildProcess> {
  const sim = c.box.spawn(berthBin, ['sim', 'nodes', ...args, '--kubeconfig', c.kubeconfig], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForOutput(sim, /simulated nodes are ready/, 'sim nodes');
  return sim;
}

/** Resolves once the child prints a line matching `re`; rejects if it exits or takes too long. */
export function waitForOutput(child: ChildProcess, re: RegExp, what: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), ms);
    const on = (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

/** Shared with the engine's tests; re-exported for the controller suites that import it here. */
export { until };
