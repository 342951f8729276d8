/**
 * bench/pods: pods on one node, the figures of issue 13, side by side in one run.
 * 1. Server start (the embedded agent included) until its node is Ready (goal <= 3 s).
 * 2. Pod start-up latency: single pods created one at a time, from the create call until the
 *    pod's Ready condition is True (p50, p99; goal p99 <= 1 s, Kubernetes' SLO is 5 s).
 * 3. `kubectl apply` of a 100-replica Deployment until 100/100 are Ready, against
 *    `docker service create --replicas 100` of the same image on docker swarm until 100/100
 *    tasks run (goal <= 0.3x of swarm).
 * 4. RSS of the server process (which holds the embedded agent) idle and with 100 pods, and
 *    of the conmon processes beside it.
 * Each side runs in a network namespace made for the run (Berth's with its own --root,
 * --runroot and data dir; dockerd with its own data root, exec root and socket), both
 * removed at the end even when a step fails. Run as root:
 *   node --import tsx bench/pods.ts [replicas=100] [singlePods=20]
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { type KubeClient, type KubeObject, Resources } from '../src/cluster/client/kube-client.js';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { berthBin, type Sandbox, sandbox } from '../test/helpers/sandbox.js';
import { adminClient } from './lib/cluster.js';
import { CpuAccount, childrenOf, processCpuMs } from './lib/cpu-account.js';
import { have, summarise } from './lib/measure.js';
import { freePort, waitFor } from './lib/process.js';
import { startTimeline } from './lib/timeline.js';
import { until } from './lib/until.js';

const [replicas, singlePods] = [100, 20].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number];
const image = 'busybox:bench';
const nodeIP = '198.18.0.1';
const swarmIP = '198.18.1.1';

/**
 * Resolves once the object `name` in `default` satisfies `ok`, read from a watch as `kubectl
 * rollout status` and `kubectl wait` do: polling with GETs would add requests the server
 * answers while it starts the pods it is measured on. A watch that ends early starts again
 * from a fresh GET.
 */
async function watchUntil(
  client: KubeClient,
  r: (typeof Resources)[keyof typeof Resources],
  name: string,
  ok: (o: KubeObject | undefined) => boolean,
  timeoutMs = 600_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const current = await client.get(r, 'default', name).catch((e: { code?: string }) => {
      if (e.code === 'NotFound') return undefined;
      throw e;
    });
    if (ok(current)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${r.plural}/${name}`);
    const rv = current?.metadata.resourceVersion ?? '0';
    const met = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => done(false), Math.max(0, end - Date.now()));
      const done = (v: boolean) => {
        clearTimeout(t);
        stop();
        resolve(v);
      };
      const stop = client.watch(
        r,
        rv,
        (e) => {
          if (e.type !== 'BOOKMARK' && e.type !== 'DELETED' && ok(e.object)) done(true);
        },
        () => done(false),
        `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
      );
    });
    if (met) return;
  }
}

/**
 * Gives the namespace a veth "wire" with an address (swarm advertises it), and a default route
 * when `route` (the agent takes its node IP from it). Swarm gets none: its tasks try to pull
 * the image first, and with a route to nowhere each attempt waits for DNS and TCP timeouts
 * (98 of 100 tasks sat in Preparing for minutes) instead of failing at once.
 */
async function wire(box: Sandbox, ip: string, route: boolean): Promise<void> {
  const gw = ip.replace(/\.1$/, '.254');
  for (const args of [
    ['link', 'add', 'wire0', 'type', 'veth', 'peer', 'name', 'wire1'],
    ['addr', 'add', `${ip}/24`, 'dev', 'wire0'],
    ['link', 'set', 'wire0', 'up'],
    ['link', 'set', 'wire1', 'up'],
    ...(route ? [['route', 'add', 'default', 'via', gw, 'dev', 'wire0', 'onlink']] : []),
  ])
    await box.exec('ip', args);
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The conmon processes whose command line mentions `dir`. */
function conmons(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
    } catch {
      continue; // the process ended while the list was read
    }
    if (!cmd.startsWith('/usr/bin/conmon') && !cmd.startsWith('conmon')) continue;
    if (cmd.includes(dir)) out.push(Number(p));
  }
  return out;
}

/** Summed RSS of the conmon processes whose command line mentions `dir`. */
function conmonRssMb(dir: string): { n: number; mb: number } {
  const pids = conmons(dir);
  return { n: pids.length, mb: pids.reduce((mb, p) => mb + rssMb(p), 0) };
}

/**
 * CPU milliseconds of Berth's parts: the server process (its threads), its command helper and
 * the commands it ran, and the conmons with the children each reaped.
 */
function partsCpuMs(
  serverPid: number,
  dir: string,
): { server: number; commands: number; helperOwn: number; conmon: number } {
  const server = processCpuMs(serverPid).own;
  let commands = 0;
  let helperOwn = 0;
  for (const p of childrenOf(serverPid)) {
    const c = processCpuMs(p);
    commands += c.own + c.children;
    helperOwn += c.own;
  }
  let conmon = 0;
  for (const p of conmons(dir)) {
    const c = processCpuMs(p);
    conmon += c.own + c.children;
  }
  return { server, commands, helperOwn, conmon };
}

/** CPU milliseconds of each thread of `pid` by name and id (utime and stime, as processCpuMs reads them); BENCH_THREADS=1 prints the split. */
function threadsCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${comm}/${tid}`, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended while the list was read
    }
  }
  return out;
}

const podSpec = (labels: Record<string, string>) => ({
  metadata: { labels },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'main', image, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
  },
});

/**
 * Deletes `name`, again when the API answers 409: a DELETE without preconditions should
 * never conflict, but here it sometimes does while the object's status is being written.
 */
async function remove(client: KubeClient, r: (typeof Resources)[keyof typeof Resources], name: string) {
  for (let i = 0; ; i++) {
    try {
      return await client.delete(r, 'default', name);
    } catch (e) {
      if ((e as { code?: string }).code !== 'Conflict' || i >= 20) throw e;
      console.log(`(DELETE of ${name} answered 409; again)`);
    }
  }
}

const isReady = (o: KubeObject | undefined) =>
  !!o?.status?.conditions?.some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

interface BerthFigures {
  readyNodeMs: number;
  single: ReturnType<typeof summarise>;
  deploymentMs: number;
  /** CPU time of Berth's side (server, its children, the containers) while the Deployment started. */
  deploymentCpuMs?: number;
  /** ...of which each part's (see partsCpuMs). */
  partsCpuMs: ReturnType<typeof partsCpuMs>;
  rssIdleMb: number;
  rssBusyMb: number;
  conmon: { n: number; mb: number };
}

// BENCH_PROFILE=DIR writes CPU profiles of the server's threads (API, controllers, embedded
// agent) there; BENCH_PEER=0 skips docker swarm, to look at Berth alone.
const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
// BENCH_NODE_ARGS="--flag ..." passes more options to the server's Node (V8 flags, to try them).
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
// BENCH_AUDIT=FILE writes an audit log of every request (Metadata level) there: the API calls a
// pod costs, by verb, resource and user.
const auditPolicy =
  'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["RequestReceived"]\nrules:\n- level: Metadata\n';
// BENCH_STRACE=FILE runs the server under strace, logging every program it starts (with the
// time, for the Deployment's window): the processes a pod costs, by program.
const strace = process.env.BENCH_STRACE
  ? [
      'strace',
      '-f',
      '--seccomp-bpf',
      '-tt',
      '-e',
      process.env.BENCH_STRACE_CALLS ?? 'trace=execve',
      '-o',
      process.env.BENCH_STRACE,
    ]
  : [];
// BENCH_PERF=FILE records the whole machine with perf over the Deployment's window (`perf
// report -i FILE --sort comm` splits the CPU by program, the kernel's threads included).
function perfRecord(): { stop(): Promise<void> } | undefined {
  const file = process.env.BENCH_PERF;
  if (!file) return undefined;
  const p = spawn('perf', ['record', '-a', '-g', '-F', '999', '-o', file], { stdio: 'ignore' });
  return {
    stop: () =>
      new Promise((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGINT');
      }),
  };
}
// BENCH_POD_RUNTIME=sim runs the pods in the agent's in-memory runtime: no containers, so the
// server's CPU per pod is the API server's, the controllers' and the agent's API work alone.
const podRuntime = process.env.BENCH_POD_RUNTIME ? ['--pod-runtime', process.env.BENCH_POD_RUNTIME] : [];
function auditArgs(dir: string): string[] {
  const log = process.env.BENCH_AUDIT;
  if (!log) return [];
  const policy = join(dir, 'audit-policy.yaml');
  writeFileSync(policy, auditPolicy);
  return ['--audit-policy-file', policy, '--audit-log-path', log];
}

async function berthSide(box: Sandbox, tar: string): Promise<BerthFigures> {
  await wire(box, nodeIP, true);
  onRunTmpfs(box.runroot);
  const imported = await box.berth(['import', tar, image]);
  if (imported.code !== 0) throw new Error(imported.stderr);
  const dataDir = join(box.dir, 'server');
  const t0 = performance.now();
  const [program, ...traced] = [...strace, process.execPath];
  const server = box.spawn(
    program!,
    [
      ...traced,
      ...profile,
      ...nodeArgs,
      '--',
      berthBin,
      ...['--root', box.root, '--runroot', box.runroot, 'server', '--data-dir', dataDir],
      ...['--https-listen-port', String(await freePort()), '--node-name', 'n1', '--node-ip', nodeIP],
      ...auditArgs(box.dir),
      ...podRuntime,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitFor(server, /cluster is ready/, 120_000);
  const client = adminClient(dataDir);
  try {
    await until('node Ready', async () => isReady((await client.list(Resources.nodes)).items[0]), {
      everyMs: 20,
      timeoutMs: 600_000,
    });
    const readyNodeMs = performance.now() - t0;
    console.log(`server start to Ready node: ${readyNodeMs.toFixed(0)} ms (goal <= 3000 ms)`);
    // Let the start-up work (controllers' first syncs, the first image list) settle first.
    await new Promise((r) => setTimeout(r, 3000));
    const rssIdleMb = rssMb(server.pid!);

    const lat: number[] = [];
    for (let i = 0; i < singlePods; i++) {
      const name = `single-${i}`;
      const s = performance.now();
      await client.create(Resources.pods, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, ...podSpec({ app: 'single' }).metadata },
        spec: podSpec({}).spec,
      });
      await watchUntil(client, Resources.pods, name, isReady);
      lat.push(performance.now() - s);
      await remove(client, Resources.pods, name);
    }
    await until(
      'single pods gone',
      async () => (await client.list(Resources.pods, 'default')).items.length === 0,
      { timeoutMs: 600_000 },
    );

    const manifest = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'many' },
      spec: { replicas, selector: { matchLabels: { app: 'many' } }, template: podSpec({ app: 'many' }) },
    });
    const env = { ...process.env, HOME: join(box.dir, 'home'), KUBECONFIG: join(dataDir, 'kubeconfig.yaml') };
    const c0 = cpu?.usedMs([box.cgroupParent]);
    const p0 = partsCpuMs(server.pid!, box.dir);
    const th0 = threadsCpuMs(server.pid!);
    const d0 = performance.now();
    if (strace.length) console.log(`kubectl apply at ${new Date().toISOString()}`);
    const perf = perfRecord();
    // BENCH_TIMELINE=1 prints where the window's time goes: CPU busy, each pod's stages.
    const timeline =
      process.env.BENCH_TIMELINE === '1'
        ? await startTimeline(client, 'many', replicas, () => cpu?.usedMs([box.cgroupParent]) ?? 0)
        : undefined;
    await box.exec('kubectl', ['apply', '-f', '-'], { input: manifest, env });
    await watchUntil(client, Resources.deployments, 'many', (d) => d?.status?.readyReplicas === replicas);
    const deploymentMs = performance.now() - d0;
    timeline?.stop();
    await perf?.stop();
    const deploymentCpuMs = c0 === undefined ? undefined : cpu!.usedMs([box.cgroupParent]) - c0;
    const p1 = partsCpuMs(server.pid!, box.dir);
    if (process.env.BENCH_THREADS === '1') {
      for (const [t, ms] of threadsCpuMs(server.pid!))
        if (ms - (th0.get(t) ?? 0) > 0) console.log(`  server thread ${t}: ${ms - (th0.get(t) ?? 0)} ms`);
      console.log(`  the command helper itself (not its commands): ${p1.helperOwn - p0.helperOwn} ms`);
    }
    const parts = {
      server: p1.server - p0.server,
      commands: p1.commands - p0.commands,
      helperOwn: p1.helperOwn - p0.helperOwn,
      conmon: p1.conmon - p0.conmon,
    };
    console.log(
      `berth: ${replicas}/${replicas} Ready ${(deploymentMs / 1000).toFixed(1)} s after kubectl apply`,
    );
    if (strace.length) console.log(`all Ready at ${new Date().toISOString()}`);
    const rssBusyMb = rssMb(server.pid!);
    const conmon = conmonRssMb(box.dir);
    await remove(client, Resources.deployments, 'many');
    await until(
      "the Deployment's pods gone",
      async () => (await client.list(Resources.pods, 'default')).items.length === 0,
      { everyMs: 500, timeoutMs: 600_000 },
    );
    return {
      readyNodeMs,
      single: summarise(lat),
      deploymentMs,
      ...(deploymentCpuMs === undefined ? {} : { deploymentCpuMs }),
      partsCpuMs: parts,
      rssIdleMb,
      rssBusyMb,
      conmon,
    };
  } finally {
    client.close();
    // A profile is written when the process exits by itself, not when the sandbox kills it.
    if (profile.length) {
      server.kill('SIGTERM');
      await Promise.race([
        new Promise((r) => server.once('exit', r)),
        new Promise((r) => setTimeout(r, 30_000)),
      ]);
    }
  }
}

/**
 * The service's tasks that run, asked of dockerd's API on its socket (what `docker service ps`
 * reads): starting the docker CLI four times a second took CPU from the swarm it measured.
 */
function runningTasks(sock: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ service: ['many'], 'desired-state': ['running'] }));
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: sock, path: `/tasks?filters=${filters}` }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET /tasks: ${res.statusCode}`));
        const tasks = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Status?: { State?: string } }[];
        resolve(tasks.filter((t) => t.Status?.State === 'running').length);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * Puts a run-state folder on a tmpfs, as a node's /run is (Berth's --runroot defaults to
 * /run/berth, dockerd's --exec-root to /var/run/docker): the sandbox's folders are on this
 * machine's disk, where every file a pod start creates and removes cost ext4 inode searches
 * that a node does not pay (about 7 ms of the server's CPU per pod, measured with perf).
 * The data roots (images, layers, the datastore) stay on disk for both sides.
 * BENCH_RUNROOT_DISK=1 keeps the folder on disk. The sandbox's cleanup unmounts it.
 */
function onRunTmpfs(dir: string): void {
  if (process.env.BENCH_RUNROOT_DISK === '1') return;
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', dir]);
}

/** Seconds until `docker service create --replicas N` has N tasks running, on a swarm of one in its own namespace. */
async function swarmSide(box: Sandbox, tar: string): Promise<number> {
  await wire(box, swarmIP, false);
  const sock = join(box.dir, 'docker.sock');
  onRunTmpfs(join(box.dir, 'd-exec'));
  const dockerd = box.spawn(
    'dockerd',
    [
      ...['--data-root', join(box.dir, 'd-root'), '--exec-root', join(box.dir, 'd-exec')],
      ...['--pidfile', join(box.dir, 'dockerd.pid'), '--host', `unix://${sock}`],
      ...['--default-ulimit', 'nofile=20000:20000'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
  const docker = (args: string[], check = true) =>
    box.exec('docker', args, { env, check, timeoutMs: 300_000 });
  box.defer(async () => {
    // Tasks live in namespaces of their own: remove them through dockerd before it stops.
    await docker(['service', 'rm', 'many'], false);
    await until('swarm tasks gone', async () => (await docker(['ps', '-q'], false)).stdout.trim() === '', {
      everyMs: 500,
      timeoutMs: 120_000,
    });
    await docker(['swarm', 'leave', '--force'], false);
    dockerd.kill('SIGTERM');
    await new Promise((r) => (dockerd.exitCode === null ? dockerd.once('exit', r) : r(null)));
  });
  await waitFor(dockerd, /API listen on/);
  await docker(['import', tar, image]);
  await docker(['swarm', 'init', '--advertise-addr', swarmIP]);
  const s0 = performance.now();
  await docker([
    'service',
    'create',
    '--detach',
    '--no-resolve-image',
    '--name',
    'many',
    '--replicas',
    String(replicas),
    image,
    'sleep',
    '3600',
  ]);
  await until(`${replicas} swarm tasks running`, async () => (await runningTasks(sock)) === replicas, {
    timeoutMs: 600_000,
  });
  return performance.now() - s0;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const tar = await busyboxRootfsTar();
console.log(`bench/pods: ${replicas} replicas, ${singlePods} single pods; load average at start ${load()}`);
const berthBox = await sandbox(undefined, { netns: true });
// CPU time is counted in a cgroup of the bench's own, so other work on the machine is left out.
const cpu = CpuAccount.start();
let b: BerthFigures;
try {
  b = await berthSide(berthBox, tar);
} finally {
  await berthBox.cleanup();
  cpu?.stop();
}
console.log(
  `pod start-up, ${b.single.n} single pods one at a time: p50 ${b.single.p50.toFixed(0)} ms, p99 ${b.single.p99.toFixed(0)} ms, max ${b.single.max.toFixed(0)} ms (goal p99 <= 1000 ms)`,
);
const perPod = (ms: number) => `${(ms / replicas).toFixed(0)} ms`;
if (b.deploymentCpuMs !== undefined)
  console.log(
    `CPU of Berth's side (server, commands, containers) while the Deployment started: ${(b.deploymentCpuMs / 1000).toFixed(1)} s, ${(b.deploymentCpuMs / replicas).toFixed(0)} ms per pod: server process ${perPod(b.partsCpuMs.server)}, command helper and its commands ${perPod(b.partsCpuMs.commands)}, conmon and what it reaped ${perPod(b.partsCpuMs.conmon)}, the rest (containers, kubectl, this bench) ${perPod(b.deploymentCpuMs - b.partsCpuMs.server - b.partsCpuMs.commands - b.partsCpuMs.conmon)}`,
  );
console.log(
  `server+agent RSS: idle ${b.rssIdleMb.toFixed(0)} MB, with ${replicas} pods ${b.rssBusyMb.toFixed(0)} MB; ${b.conmon.n} conmon processes ${b.conmon.mb.toFixed(0)} MB in all`,
);
let swarmMs: number | undefined;
if (have('dockerd') && process.env.BENCH_PEER !== '0') {
  const swarmBox = await sandbox(undefined, { netns: true });
  try {
    swarmMs = await swarmSide(swarmBox, tar);
  } finally {
    await swarmBox.cleanup();
  }
}
console.log(
  `${replicas}-replica Deployment to ${replicas}/${replicas} Ready: berth ${(b.deploymentMs / 1000).toFixed(1)} s` +
    (swarmMs === undefined
      ? '; docker swarm: not measured (BENCH_PEER=0 or no dockerd)'
      : `, docker swarm ${(swarmMs / 1000).toFixed(1)} s, ratio ${(b.deploymentMs / swarmMs).toFixed(2)}x (goal <= 0.3x)`),
);
console.log(`load average at end ${load()}`);
