/**
 * bench/service: Services on a node, the figures of issue 14.
 * 1. HTTP through a ClusterIP Service against the same pod by its own address (wrk from
 *    another pod's network namespace, interleaved rounds), and their ratio (goal >= 0.9x).
 * 2. Network programming latency with 1,000 Services on the node: from a Service's creation
 *    (the API call) until the node's nftables rules hold its address, for a series of new
 *    Services (goal p99 <= 1 s; Kubernetes' SLO is 30 s).
 * `berth server` with its embedded agent runs in a network namespace made for the run, with
 * its address on a veth "wire"; nothing touches the host's network. Run as root:
 *   node --import tsx bench/service.ts [seconds=2] [rounds=9] [services=1000] [changes=50]
 * (many short rounds, interleaved: load from other work on a shared machine comes in bursts)
 */
import type { ChildProcess } from 'node:child_process';
import type { KubeClient, KubeObject } from '../src/cluster/client/kube-client.js';
import { Resources } from '../src/cluster/client/kube-client.js';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { type Sandbox, sandbox } from '../test/helpers/sandbox.js';
import {
  adminClient,
  importWebImage,
  spawnServer,
  webDeployment,
  wireNode,
  wrkFromPod,
} from './lib/cluster.js';
import { have, interleave, percentile, summarise } from './lib/measure.js';
import { waitFor } from './lib/process.js';
import { until } from './lib/until.js';

const [seconds, rounds, serviceCount, changes] = [2, 9, 1000, 50].map((d, i) =>
  Number(process.argv[2 + i] ?? d),
) as [number, number, number, number];
const nodeIP = '198.18.0.1';

if (!have('wrk') || !have('nft')) {
  console.log('wrk or nft is not installed: run make bench-deps and scripts/install-deps');
  process.exit(0);
}

const service = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: {
    selector: { app: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'web' }],
  },
});

async function setUp(
  box: Sandbox,
  client: KubeClient,
): Promise<{ clusterIP: string; podIP: string; clientPid: number }> {
  await importWebImage(box);
  const r = await box.berth(['import', await busyboxRootfsTar(), 'busybox:local']);
  if (r.code !== 0) throw new Error(r.stderr);
  // Keep-alive off in the pod: each request is a new connection, the only kind the Service's
  // DNAT rules see (an established connection is one conntrack lookup either way), so the
  // ratio measures the Service, not wrk's 16 kept connections.
  await client.create(Resources.deployments, 'default', webDeployment(false));
  await client.create(Resources.pods, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client' },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'busybox:local',
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '100000'],
        },
      ],
    },
  });
  const svc = await client.create(Resources.services, 'default', service('web'));
  let podIP = '';
  await until('pods running', async () => {
    const pods = (await client.list(Resources.pods, 'default')).items;
    podIP = pods.find((p) => p.metadata.labels?.app === 'web')?.status?.podIP ?? '';
    return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running');
  });
  await until(
    'web programmed',
    async () =>
      (
        await box.exec('nft', ['list', 'chain', 'ip', 'berth-proxy', 'svc-default/web/http'], {
          check: false,
        })
      ).stdout.includes('dnat') ||
      (await box.exec('nft', ['list', 'table', 'ip', 'berth-proxy'], { check: false })).stdout.includes(
        `dnat to ${podIP}`,
      ),
  );
  const id = (
    await box.berth(['ps', '--filter', 'label=io.kubernetes.pod.name=client', '--format', '{{.ID}}'])
  ).stdout.trim();
  const pid = Number((await box.berth(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
  return { clusterIP: svc.spec.clusterIP, podIP, clientPid: pid };
}

/** Requests per second from wrk, run in the client pod's network namespace. */
const wrk = (pid: number, url: string) => wrkFromPod(pid, url, seconds);

async function programmingLatency(box: Sandbox, client: KubeClient): Promise<number[]> {
  // The Services already on the node, created 20 at a time.
  const names = Array.from({ length: serviceCount }, (_, i) => `bulk-${i}`);
  for (let i = 0; i < names.length; i += 20)
    await Promise.all(
      names.slice(i, i + 20).map((n) => client.create(Resources.services, 'default', service(n))),
    );
  await until(`${serviceCount} Services programmed`, async () => {
    const m = await box.exec('nft', ['-j', 'list', 'map', 'ip', 'berth-proxy', 'service-ips'], {
      check: false,
    });
    const elems = (
      JSON.parse(m.stdout || '{"nftables":[]}').nftables as { map?: { elem?: unknown[] } }[]
    ).find((x) => x.map)?.map?.elem;
    return (elems?.length ?? 0) >= serviceCount + 2;
  });
  // Each new Service's address shows up in nft's event stream once the node's rules hold it.
  const monitor: ChildProcess = box.spawn('nft', ['monitor', 'new', 'elements'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // When each address first appeared (the API allocates it, so it is known only after the
  // create returns, and the rules may hold it by then).
  const seenAt = new Map<string, number>();
  let wake = () => {};
  let buf = '';
  monitor.stdout?.on('data', (d: Buffer) => {
    const now = performance.now();
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines)
      for (const m of line.matchAll(/(\d+\.\d+\.\d+\.\d+) \. tcp \. 80 :/g))
        if (!seenAt.has(m[1]!)) seenAt.set(m[1]!, now);
    wake();
  });
  await new Promise((r) => setTimeout(r, 500)); // let nft subscribe before the first change
  const out: number[] = [];
  for (let i = 0; i < changes; i++) {
    const t0 = performance.now();
    const ip = (await client.create(Resources.services, 'default', service(`lat-${i}`))).spec
      .clusterIP as string;
    while (!seenAt.has(ip)) await new Promise<void>((r) => (wake = r));
    out.push(seenAt.get(ip)! - t0);
  }
  monitor.kill();
  return out;
}

const box = await sandbox(undefined, { netns: true });
try {
  await wireNode(box, nodeIP, '198.18.0.254');
  // Debug lines carry the proxy's own time per apply (computing the rules, and nft).
  const { server, dataDir } = await spawnServer(box, nodeIP, { ...process.env, BERTH_LOG_LEVEL: 'debug' });
  const applies: { ports: number; computeMs: number; applyMs: number }[] = [];
  let partial = '';
  server.stderr?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.includes('"service rules applied"')) applies.push(JSON.parse(l));
  });
  await waitFor(server, /cluster is ready/, 120_000);
  const client = adminClient(dataDir);
  const { clusterIP, podIP, clientPid } = await setUp(box, client);

  const [viaService, direct] = interleave(rounds, 1, [
    () => wrk(clientPid, `http://${clusterIP}/f`),
    () => wrk(clientPid, `http://${podIP}:8080/f`),
  ]);
  const [s, d] = [percentile(viaService!, 50), percentile(direct!, 50)];
  console.log(
    `HTTP from a pod (wrk -t2 -c16, ${seconds} s x ${rounds} rounds, medians): ClusterIP ${s.toFixed(0)} req/s, pod IP ${d.toFixed(0)} req/s, ratio ${(s / d).toFixed(2)}x (goal >= 0.9x); per round: ${viaService!.map((v, i) => (v / direct![i]!).toFixed(2)).join(' ')}`,
  );

  // services=0 measures HTTP only.
  if (serviceCount > 0) {
    const before = applies.length;
    const lat = summarise(await programmingLatency(box, client));
    const during = applies.slice(before).filter((a) => a.ports >= serviceCount);
    const med = (k: 'computeMs' | 'applyMs') =>
      percentile(
        during.map((a) => a[k]),
        50,
      );
    console.log(
      `Programming latency with ${serviceCount} Services (${lat.n} new Services): p50 ${lat.p50.toFixed(0)} ms, p99 ${lat.p99.toFixed(0)} ms, max ${lat.max.toFixed(0)} ms (goal p99 <= 1000 ms); the proxy's ${during.length} applies meanwhile: median ${med('computeMs')} ms computing rules, ${med('applyMs')} ms in nft`,
    );
  }
  client.close();
} finally {
  await box.cleanup();
}
