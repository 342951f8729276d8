/**
 * bench/apiserver: the API server on each datastore (embedded SQLite, then a real etcd), one
 * run: idle RSS with an empty cluster; create and update latency of single objects at a
 * steady (open-loop) 200 writes/s; a list of 10,000 pods; 1,000 concurrent watches that
 * must each receive every event. Prints; never asserts.
 * With `rolebindings` > 0, the creates and updates alternate, one by one in the same steady
 * stream, between the admin, whom system:masters lets through without a policy lookup (no
 * RBAC), and a user that RBAC authorizes (bound to `edit` in the namespace) among that many
 * RoleBindings for other users; each side's p50 and p99 and the ratio of the p99s are printed,
 * measured under the same load at the same time: the cost of authorization (goal: at most 10%
 * worse with 1,000 RoleBindings).
 * Run as root from the repository:
 * node --import tsx bench/apiserver.ts [seconds=10] [pods=10000] [watches=1000] [rolebindings=0]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeClient, type KubeObject, type Resource, Resources } from '../src/cluster/client/kube-client.js';
import { have, percentile } from './lib/measure.js';
import { freePort, waitFor } from './lib/process.js';

const seconds = Number(process.argv[2] ?? 10);
const podCount = Number(process.argv[3] ?? 10_000);
const watchCount = Number(process.argv[4] ?? 1000);
const roleBindings = Number(process.argv[5] ?? 0);
const rate = 200;
const berth = resolve(import.meta.dirname, '..', 'bin', 'berth');
// BENCH_NODE_ARGS="--flag ..." passes more options to the server's Node (V8 flags, to try them).
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const work = mkdtempSync(join(tmpdir(), 'berth-bench-api-'));
const children: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const fmt = (v: number[]) =>
  `p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms (n=${v.length})`;

async function startEtcd(dir: string): Promise<string> {
  const client = await freePort();
  const peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    'etcd',
    [
      ...['--name', 'bench', '--data-dir', join(dir, 'etcd')],
      ...['--listen-client-urls', url, '--advertise-client-urls', url],
      ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
      ...['--initial-cluster', `bench=${peerUrl}`],
    ],
    { stdio: 'ignore' },
  );
  children.push(child);
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return `etcd://127.0.0.1:${client}`;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error('etcd did not become healthy');
}

/**
 * Writes at a fixed rate without waiting for answers (open loop), so slow answers cannot hide a
 * backlog. `lat[i]` is write i's latency (missing when it failed).
 */
async function steadyWrites(n: number, write: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const t0 = performance.now();
    pending.push(
      write(i).then(
        () => {
          lat[i] = performance.now() - t0;
        },
        (e) => console.error(`write ${i} failed: ${(e as Error).message}`),
      ),
    );
  }
  await Promise.all(pending);
  return lat;
}

/** Runs `fn` over 0..n-1 with `width` in flight. */
async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const cmRes: Resource = { base: '/api/v1', plural: 'configmaps', namespaced: true };
const rbRes: Resource = {
  base: '/apis/rbac.authorization.k8s.io/v1',
  plural: 'rolebindings',
  namespaced: true,
};

/** `count` RoleBindings for other users, then a client for a user that `edit` is bound to. */
async function rbacWriter(admin: KubeClient, dataDir: string, count: number): Promise<KubeClient> {
  const binding = (name: string, user: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
  await pool(count, 16, (i) => admin.create(rbRes, 'default', binding(`other-${i}`, `user-${i}`)));
  await admin.create(rbRes, 'default', binding('bench', 'bench'));
  const cfg = join(dataDir, 'bench-user.yaml');
  writeFileSync(cfg, execFileSync(berth, ['kubeconfig', '--data-dir', dataDir, '--user', 'bench']), {
    mode: 0o600,
  });
  return KubeClient.fromKubeconfig(cfg);
}

async function bench(label: string, datastore?: string): Promise<void> {
  const dir = join(work, label);
  const port = await freePort();
  const server = spawn(
    nodeArgs.length ? process.execPath : berth,
    [
      ...(nodeArgs.length ? [...nodeArgs, '--', berth] : []),
      ...['server', '--data-dir', join(dir, 'server'), '--https-listen-port', String(port)],
      ...['--disable-agent', '--controllers='],
      ...(datastore ? ['--datastore-endpoint', datastore] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(server);
  await waitFor(server, /cluster is ready/);
  const kubeconfig = join(dir, 'server', 'kubeconfig.yaml');
  const client = KubeClient.fromKubeconfig(kubeconfig);
  await sleep(3000);
  const idle = rssMb(server.pid!);
  const rbac = roleBindings > 0 ? await rbacWriter(client, join(dir, 'server'), roleBindings) : undefined;
  // With RBAC, odd writes are the RBAC user's and even ones the admin's, interleaved.
  const writer = (i: number) => (rbac && i % 2 === 1 ? rbac : client);
  const sides = (lat: number[]) => {
    const present = (keep: (i: number) => boolean) =>
      lat.flatMap((v, i) => (v !== undefined && keep(i) ? [v] : []));
    return rbac
      ? { admin: present((i) => i % 2 === 0), rbac: present((i) => i % 2 === 1) }
      : { admin: present(() => true) };
  };
  const report = (what: string, lat: number[]) => {
    const s = sides(lat);
    if (!s.rbac) return `${what} as the admin: ${fmt(s.admin)}`;
    const ratio = percentile(s.rbac, 99) / percentile(s.admin, 99);
    return `${what}, interleaved: admin (no RBAC) ${fmt(s.admin)}; RBAC user among ${roleBindings} RoleBindings ${fmt(s.rbac)}; p99 ratio ${ratio.toFixed(2)} (goal <= 1.10)`;
  };

  // Create, then update, single objects at a steady 200/s.
  const n = seconds * rate;
  const created: KubeObject[] = [];
  const createLat = await steadyWrites(n, async (i) => {
    created[i] = await writer(i).create(cmRes, 'default', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${i}`, labels: { bench: 'api' } },
      data: { n: String(i), payload: 'x'.repeat(512) },
    });
  });
  const updateLat = await steadyWrites(n, (i) =>
    writer(i).update(cmRes, { ...created[i]!, data: { n: String(i + 1), payload: 'y'.repeat(512) } }),
  );

  // A list of many pods (kubectl get pods -A reads the same), after creating them in parallel.
  const tFill = performance.now();
  await pool(podCount, 32, (i) =>
    client.create(Resources.pods, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p-${i}`, labels: { app: `a${i % 50}`, tier: 'bench' } },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'registry.example/app:1',
            ports: [{ containerPort: 8080 }],
            resources: { requests: { cpu: '10m', memory: '16Mi' } },
            env: [{ name: 'MODE', value: 'bench' }],
          },
        ],
      },
    }),
  );
  const fillS = (performance.now() - tFill) / 1000;
  const listMs: number[] = [];
  let listed = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const l = await client.list(Resources.pods);
    listMs.push(performance.now() - t0);
    listed = l.items.length;
  }

  // Many watchers of one collection, each must see every event.
  const events = 100;
  const agent = new https.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const watchNs = 'default';
  const startRv = (await client.list(cmRes, watchNs, 'labelSelector=bench%3Dwatch')).metadata.resourceVersion;
  const counts = new Array<number>(watchCount).fill(0);
  const lastAt = new Array<number>(watchCount).fill(0);
  const caCfg = readFileSync(kubeconfig, 'utf8');
  const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(caCfg)![1]!, 'base64').toString();
  const token = /token: (\S+)/.exec(caCfg)?.[1];
  const cert = /client-certificate-data: (\S+)/.exec(caCfg)?.[1];
  const key = /client-key-data: (\S+)/.exec(caCfg)?.[1];
  const reqs: import('node:http').ClientRequest[] = [];
  let open = 0;
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`only ${open}/${watchCount} watches opened`)), 60_000);
    for (let w = 0; w < watchCount; w++) {
      const req = https.request(
        `${client.server}/api/v1/namespaces/${watchNs}/configmaps?watch=1&labelSelector=bench%3Dwatch&resourceVersion=${startRv}`,
        {
          agent,
          ca,
          ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
          ...(cert && key
            ? {
                cert: Buffer.from(cert, 'base64').toString(),
                key: Buffer.from(key, 'base64').toString(),
              }
            : {}),
        },
        (r) => {
          if (++open === watchCount) {
            clearTimeout(t);
            res();
          }
          let buf = '';
          r.on('data', (d: Buffer) => {
            buf += d.toString();
            let nl = buf.indexOf('\n');
            while (nl >= 0) {
              if (buf.slice(0, nl).trim()) {
                counts[w]!++;
                lastAt[w] = performance.now();
              }
              buf = buf.slice(nl + 1);
              nl = buf.indexOf('\n');
            }
          });
          r.on('error', () => {});
        },
      );
      req.on('error', () => {});
      req.end();
      reqs.push(req);
    }
  });
  const tEvents = performance.now();
  for (let i = 0; i < events; i++) {
    await client.create(cmRes, watchNs, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `w-${i}`, labels: { bench: 'watch' } },
      data: { i: String(i) },
    });
  }
  const deadline = Date.now() + 60_000;
  while (counts.some((c) => c < events) && Date.now() < deadline) await sleep(50);
  const complete = counts.filter((c) => c >= events).length;
  const fanOut = Math.max(...lastAt) - tEvents;
  const busy = rssMb(server.pid!);
  for (const r of reqs) r.destroy();
  agent.destroy();
  const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(' ');
  const cpuSec = (Number(stat[13]) + Number(stat[14])) / 100;

  console.log(`\n== ${label} ==`);
  console.log(`idle RSS, empty cluster: ${idle.toFixed(0)} MB (goal <= 120 MB)`);
  console.log(
    `${report(`create at ${rate}/s for ${seconds} s`, createLat)} (SLO p99 <= 1000 ms; aim 25 ms on SQLite)`,
  );
  console.log(report(`update at ${rate}/s for ${seconds} s`, updateLat));
  console.log(
    `list of ${listed} pods: median ${percentile(listMs, 50).toFixed(0)} ms (goal <= 1000 ms); filling it took ${fillS.toFixed(1)} s (${(podCount / fillS).toFixed(0)} creates/s, 32 in flight)`,
  );
  console.log(
    `${watchCount} watches x ${events} events: ${complete}/${watchCount} received all; last delivery ${fanOut.toFixed(0)} ms after the first write`,
  );
  console.log(`server RSS after: ${busy.toFixed(0)} MB, CPU ${cpuSec.toFixed(1)} s`);
  rbac?.close();
  client.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}

try {
  await bench('sqlite');
  if (have('etcd')) await bench('etcd', await startEtcd(work));
  else console.log('\netcd is not installed (make deps installs etcd-server); skipped');
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
