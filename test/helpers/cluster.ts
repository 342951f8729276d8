/**
 * Starts a real `berth server --disable-agent` (or, with `agent`, with its embedded agent) in a sandbox on a free port with its own data
 * dir, and runs the real kubectl against it (its own HOME, so discovery caches never leak).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type RunResult, run } from '../../src/core/exec.js';
import { busyboxRootfsTar } from './busybox-image.js';
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
  /** Runs kubectl; never throws on a non-zero exit. */
  kubectl(args: readonly string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** `kubectl ARGS -o json`, parsed; throws with kubectl's stderr when it fails. */
  // biome-ignore lint/suspicious/noExplicitAny: objects read back from kubectl
  json(args: readonly string[]): Promise<any>;
  /** `kubectl apply` of the objects (as one List); throws with kubectl's stderr when it fails. */
  apply(...objs: unknown[]): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
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
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`berth server did not become ready: ${out}`)), 60_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        serverLog += d.toString();
        if (/cluster is ready/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`berth server exited with ${code}: ${out}`));
      });
    });
    return child;
  };
  let child = await start();
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const kubectl: TestCluster['kubectl'] = (args, opts = {}) =>
    (inNetns ? box.exec : run)('kubectl', args, {
      check: false,
      timeoutMs: 60_000,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      env: { ...process.env, HOME: home, KUBECONFIG: kubeconfig, ...opts.env },
    });
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
    kubectl,
    json: async (args) => JSON.parse(checked(await kubectl([...args, '-o', 'json']), args)),
    apply: async (...objs) => {
      const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs });
      checked(await kubectl(['apply', '-f', '-'], { input }), ['apply']);
    },
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
 * engine as `busybox:local`, once n1 is Ready.
 */
export async function startAgentCluster(
  t: TestContext | undefined,
  options: { args?: string[] } = {},
): Promise<TestCluster> {
  const c = await startCluster(t, {
    controllers: '*',
    agent: true,
    netns: true,
    args: ['--node-name', 'n1', ...(options.args ?? [])],
  });
  checked(await c.box.berth(['import', await busyboxRootfsTar(), 'busybox:local']), ['import']);
  await until(
    'n1 Ready',
    async () =>
      ((await c.json(['get', 'node', 'n1'])).status.conditions ?? []).some(
        (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
      ),
    30_000,
  );
  return c;
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
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`sim nodes did not start: ${out}`)), 30_000);
    const on = (d: Buffer) => {
      out += d.toString();
      if (/simulated nodes are ready/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    sim.stdout?.on('data', on);
    sim.stderr?.on('data', on);
  });
  return sim;
}

/** Shared with the engine's tests; re-exported for the controller suites that import it here. */
export { until };
