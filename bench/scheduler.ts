/**
 * bench/scheduler: simulated nodes and Deployments created through the API; measures the
 * scheduling throughput, pod creation -> Running latency (p50/p99), the p99 of a steady
 * stream of mutating API calls during the run, and the server's RSS and CPU time.
 * Run as root: node --import tsx bench/scheduler.ts [nodes=1000] [pods=30000] [deployments=30] [--e2e]
 *
 * --e2e measures what a user waits for instead: `kubectl apply` of the Deployments (one
 * file) until their `readyReplicas` add up to the pod count, as pods per second end to end
 * (API, ReplicaSets, slow-start creation, scheduling, the simulated kubelets and status).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Informer } from '../src/cluster/client/informer.js';
import { KubeClient, Resources } from '../src/cluster/client/kube-client.js';
import { run } from '../src/core/exec.js';
import { percentile } from './lib/measure.js';
import { freePort, waitFor } from './lib/process.js';

const e2e = process.argv.includes('--e2e');
const args = process.argv.slice(2).filter((a) => a !== '--e2e');
const nodes = Number(args[0] ?? 1000);
const pods = Number(args[1] ?? 30000);
const deployments = Number(args[2] ?? 30);
const berth = resolve(import.meta.dirname, '..', 'bin', 'berth');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-sched-'));

const port = await freePort();

/** The end-to-end run is complete: skip the throughput and latency phases. */
class Done extends Error {}

/** The Deployment of replica count `replicas` named `name`, as the benchmark creates it. */
function deployment(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
        },
      },
    },
  };
}

/** `kubectl apply` of every Deployment until their readyReplicas add up to `pods`. */
async function endToEnd(client: KubeClient, kubeconfig: string): Promise<void> {
  const per = Math.ceil(pods / deployments);
  const file = join(work, 'deployments.json');
  const items = Array.from({ length: deployments }, (_, i) =>
    deployment(`d${i}`, Math.min(per, pods - i * per)),
  );
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const ready = new Map<string, number>();
  let sum = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const inf = new Informer(client, Resources.deployments);
  const observe = (d: import('../src/cluster/client/kube-client.js').KubeObject) => {
    const n = d.status?.readyReplicas ?? 0;
    sum += n - (ready.get(d.metadata.name!) ?? 0);
    ready.set(d.metadata.name!, n);
    if (sum >= pods) done();
  };
  inf.onAdd(observe).onUpdate(observe).start();
  await inf.hasSynced();
  const t0 = Date.now();
  await run('kubectl', ['apply', '-f', file], {
    env: { ...process.env, KUBECONFIG: kubeconfig, HOME: work },
  });
  const applied = (Date.now() - t0) / 1000;
  const deadline = setTimeout(done, 30 * 60_000);
  await all;
  clearTimeout(deadline);
  const total = (Date.now() - t0) / 1000;
  inf.stop();
  console.log(`bench/scheduler --e2e: ${nodes} nodes, ${pods} pods in ${deployments} Deployments`);
  console.log(`kubectl apply returned after ${applied.toFixed(1)} s`);
  console.log(
    `readyReplicas ${sum}/${pods} after ${total.toFixed(1)} s: ${(sum / total).toFixed(0)} pods/s end to end (goal >= 500)`,
  );
}

// BENCH_PROFILE=DIR writes a CPU profile of the server (API, store and controllers) there.
const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
const server = spawn(
  process.execPath,
  [
    ...profile,
    '--',
    berth,
    ...['server', '--data-dir', join(work, 'server'), '--https-listen-port', String(port), '--disable-agent'],
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
const children = [server];
try {
  await waitFor(server, /cluster is ready/, 120_000);
  const kubeconfig = join(work, 'server', 'kubeconfig.yaml');
  // With BENCH_PROFILE, the simulated nodes are profiled too (DIR/sim).
  const simProfile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', '--cpu-prof-dir', join(process.env.BENCH_PROFILE, 'sim')]
    : [];
  const sim = spawn(
    process.execPath,
    [
      ...simProfile,
      '--',
      berth,
      ...['sim', 'nodes', '--count', String(nodes), '--kubeconfig', kubeconfig],
      ...['--cpu', '64', '--memory', '256Gi'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(sim);
  const tNodes = Date.now();
  await waitFor(sim, /simulated nodes are ready/, 120_000);
  console.log(`${nodes} simulated nodes registered in ${((Date.now() - tNodes) / 1000).toFixed(1)} s`);

  const client = KubeClient.fromKubeconfig(kubeconfig);
  if (e2e) {
    await endToEnd(client, kubeconfig);
    client.close();
    throw new Done();
  }
  const created = new Map<string, number>();
  const bound: number[] = [];
  const running: number[] = [];
  const seenRunning = new Set<string>();
  const seenBound = new Set<string>();
  const informer = new Informer(client, Resources.pods);
  const observe = (p: import('../src/cluster/client/kube-client.js').KubeObject) => {
    const k = `${p.metadata.namespace}/${p.metadata.name}`;
    // First seen by the watch: creationTimestamp has only whole seconds.
    if (!created.has(k)) created.set(k, Date.now());
    if (p.spec?.nodeName && !seenBound.has(k)) {
      seenBound.add(k);
      bound.push(Date.now());
    }
    if (p.status?.phase === 'Running' && !seenRunning.has(k)) {
      seenRunning.add(k);
      running.push(Date.now() - created.get(k)!);
    }
  };
  informer.onAdd(observe).onUpdate(observe).start();
  await informer.hasSynced();

  // A steady stream of mutating calls (a ConfigMap update 10 times a second) to time the API under load.
  const mutLatency: number[] = [];
  let stopMut = false;
  const cmRes = { base: '/api/v1', plural: 'configmaps', namespaced: true };
  let cm = await client.create(cmRes, 'default', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'probe' },
    data: { n: '0' },
  });
  const mut = (async () => {
    for (let i = 1; !stopMut; i++) {
      const t0 = performance.now();
      cm = await client.update(cmRes, { ...cm, data: { n: String(i) } }).catch(() => cm);
      mutLatency.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const per = Math.ceil(pods / deployments);
  const t0 = Date.now();
  for (let i = 0; i < deployments; i++) {
    await client.create(Resources.deployments, 'default', deployment(`d${i}`, Math.min(per, pods - i * per)));
  }
  const deadline = Date.now() + 30 * 60_000;
  while (seenRunning.size < pods && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  const total = (Date.now() - t0) / 1000;
  const saturated = [...running];
  const boundSaturated = [...bound];
  const runningSaturated = seenRunning.size;

  // The latency phase (as clusterloader2 measures pod startup): on the loaded cluster, pods
  // arrive at a steady 100/s (a 10-replica Deployment every 100 ms) instead of all at once,
  // and each pod's creation -> Running is timed from when the watch first shows it.
  running.length = 0;
  const latencyDeployments = 30;
  for (let i = 0; i < latencyDeployments; i++) {
    const started = Date.now();
    await client.create(Resources.deployments, 'default', deployment(`lat${i}`, 10));
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
  }
  const latDeadline = Date.now() + 5 * 60_000;
  while (running.length < latencyDeployments * 10 && Date.now() < latDeadline)
    await new Promise((r) => setTimeout(r, 200));
  const steady = [...running];
  stopMut = true;
  await mut;
  const first = Math.min(...boundSaturated);
  const last = Math.max(...boundSaturated);
  // CPU seconds (user + system) of a process, from /proc.
  const cpuOf = (pid: number | undefined, task = '') => {
    const stat = readFileSync(`/proc/${pid}/${task}stat`, 'utf8');
    // Fields after the parenthesised command name, which may hold spaces.
    const st = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(st[11]) + Number(st[12])) / 100;
  };
  const cpuSec = cpuOf(server.pid);
  // Which of the server's threads spent it: the API (the main thread), the control plane and
  // the datastore's writer (worker threads), V8's and libuv's helpers.
  const threads = readdirSync(`/proc/${server.pid}/task`)
    .map((tid) => ({ main: tid === String(server.pid), cpu: cpuOf(server.pid, `task/${tid}/`) }))
    .sort((a, b) => b.cpu - a.cpu);
  const rss =
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  console.log(`bench/scheduler: ${nodes} nodes, ${pods} pods in ${deployments} Deployments`);
  console.log(`all pods Running after ${total.toFixed(1)} s (${runningSaturated}/${pods})`);
  console.log(
    `scheduling throughput: ${(boundSaturated.length / Math.max(0.001, (last - first) / 1000)).toFixed(0)} pods/s (goal >= 500)`,
  );
  console.log(
    `pod creation -> Running, all ${pods} created at once: p50 ${percentile(saturated, 50).toFixed(0)} ms, p99 ${percentile(saturated, 99).toFixed(0)} ms (queueing: the last pods wait for the ones before)`,
  );
  console.log(
    `pod creation -> Running, ${steady.length} pods arriving at 100/s on the loaded cluster: p50 ${percentile(steady, 50).toFixed(0)} ms, p99 ${percentile(steady, 99).toFixed(0)} ms (SLO p99 <= 5000 ms)`,
  );
  console.log(
    `mutating API call during the run: p50 ${percentile(mutLatency, 50).toFixed(1)} ms, p99 ${percentile(mutLatency, 99).toFixed(1)} ms (SLO 1000 ms)`,
  );
  console.log(
    `server: RSS ${rss.toFixed(0)} MB, CPU ${cpuSec.toFixed(1)} s (main thread ${threads.find((t) => t.main)?.cpu.toFixed(1)} s; busiest other threads ${threads
      .filter((t) => !t.main)
      .slice(0, 3)
      .map((t) => t.cpu.toFixed(1))
      .join(', ')} s)`,
  );
  // The simulated nodes and this script share the machine with the server: their CPU too.
  console.log(
    `also on the machine: sim nodes CPU ${cpuOf(sim.pid).toFixed(1)} s, this benchmark CPU ${cpuOf(process.pid).toFixed(1)} s (${availableParallelism()} cores)`,
  );
  informer.stop();
  client.close();
} catch (e) {
  if (!(e instanceof Done)) throw e;
} finally {
  if (profile.length) {
    // A clean exit writes the profiles.
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once('exit', r)))),
    );
  }
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
