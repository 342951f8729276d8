/**
 * bench/netpol: the NetworkPolicy figure of issue 20. HTTP from one pod to another (wrk from
 * the client pod's network namespace to the nginx web pod of bench/lib/cluster.ts by its
 * address; nginx closes each connection, so every request's first packet walks the rules) with 200
 * NetworkPolicies in the cluster against none, in alternating rounds (goal >= 0.9x). All 200
 * select the server pod, 199 of them allow other sources (ipBlocks, one port each) and the last
 * allows the client: with a line per rule a new connection would be checked against every one
 * before it is let in; the pod's concatenated set answers in one lookup.
 * Then the programming latency: from a new policy's creation until the node's rules hold it.
 * `berth server` with its embedded agent runs in a network namespace made for the run. As root:
 *   node --import tsx bench/netpol.ts [seconds=2] [rounds=6] [policies=200]
 */
import type { KubeClient, KubeObject } from '../src/cluster/client/kube-client.js';
import { Resources } from '../src/cluster/client/kube-client.js';
import { networkPolicies } from '../src/cluster/netpol/enforcer.js';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { type Sandbox, sandbox } from '../test/helpers/sandbox.js';
import { adminClient, importWebImage, spawnServer, WEB_SERVE, wireNode, wrkFromPod } from './lib/cluster.js';
import { have, percentile, summarise } from './lib/measure.js';
import { benchPolicy, benchPolicyPorts } from './lib/netpol-policies.js';
import { waitFor } from './lib/process.js';
import { until } from './lib/until.js';

const [seconds, rounds, policyCount] = [2, 6, 200].map((d, i) => Number(process.argv[2 + i] ?? d)) as [
  number,
  number,
  number,
];
const nodeIP = '198.18.1.1';

if (!have('wrk') || !have('nft')) {
  console.log('wrk or nft is not installed: run make bench-deps and scripts/install-deps');
  process.exit(0);
}

const pod = (name: string, labels: Record<string, string>, image: string, command: string[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'main', image, imagePullPolicy: 'IfNotPresent', command }],
  },
});

/** Policy `i` (bench/lib/netpol-policies.ts), created in `default`. */
const policy = (i: number) => benchPolicy(i, policyCount);

/** The web pod's ingress chain as nft lists it ('' when there is none). */
const webChain = async (box: Sandbox) =>
  (await box.exec('nft', ['list', 'chain', 'inet', 'berth-netpol', 'ingress-default/web'], { check: false }))
    .stdout;

/**
 * The numbers in the node's inet table as nft lists it: the policies' ports are among them
 * whether they sit in a set's elements or on a chain's lines (addresses' parts are below 256).
 */
async function numbersInRules(box: Sandbox): Promise<Set<number>> {
  const text = (await box.exec('nft', ['list', 'table', 'inet', 'berth-netpol'], { check: false })).stdout;
  return new Set((text.match(/\b\d+\b/g) ?? []).map(Number));
}

async function withPolicies(box: Sandbox, client: KubeClient): Promise<void> {
  for (let i = 0; i < policyCount; i += 20)
    await Promise.all(
      Array.from({ length: Math.min(20, policyCount - i) }, (_, j) =>
        client.create(networkPolicies, 'default', policy(i + j)),
      ),
    );
  const ports = benchPolicyPorts(policyCount);
  await until('the policies programmed', async () => {
    const programmed = await numbersInRules(box);
    return ports.every((p) => programmed.has(p));
  });
}

async function withoutPolicies(box: Sandbox, client: KubeClient): Promise<void> {
  const items = (await client.list(networkPolicies, 'default')).items;
  for (let i = 0; i < items.length; i += 20)
    await Promise.all(
      items.slice(i, i + 20).map((p) => client.delete(networkPolicies, 'default', p.metadata.name ?? '')),
    );
  await until('the policies gone from the rules', async () => (await webChain(box)) === '');
}

/**
 * From a policy's creation (the API call) until the node's rules hold it, for `n` new policies
 * with the 200 in place (polled every 20 ms, so figures are that much coarse).
 */
async function programmingLatency(box: Sandbox, client: KubeClient, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = policy(0);
    p.metadata.name = `lat-${i}`;
    p.spec.ingress[0].ports = [{ port: 7000 + i }];
    const t0 = performance.now();
    await client.create(networkPolicies, 'default', p);
    while (!(await numbersInRules(box)).has(7000 + i)) await new Promise((r) => setTimeout(r, 20));
    out.push(performance.now() - t0);
  }
  return out;
}

/** Requests per second from wrk, run in the client pod's network namespace. */
const wrk = (pid: number, url: string) => wrkFromPod(pid, url, seconds);

const box = await sandbox(undefined, { netns: true });
try {
  await wireNode(box, nodeIP, '198.18.1.254');
  const { server, dataDir } = await spawnServer(box, nodeIP);
  await waitFor(server, /cluster is ready/, 120_000);
  const client = adminClient(dataDir);
  const r = await box.berth(['import', await busyboxRootfsTar(), 'busybox:local']);
  if (r.code !== 0) throw new Error(r.stderr);
  await importWebImage(box);
  await client.create(
    Resources.pods,
    'default',
    pod('web', { app: 'web' }, 'web:local', ['sh', '-c', WEB_SERVE]),
  );
  await client.create(
    Resources.pods,
    'default',
    pod('client', { role: 'client' }, 'busybox:local', ['sleep', '100000']),
  );
  let webIP = '';
  await until('pods running', async () => {
    const pods = (await client.list(Resources.pods, 'default')).items;
    webIP = pods.find((p) => p.metadata.name === 'web')?.status?.podIP ?? '';
    return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running');
  });
  const id = (
    await box.berth(['ps', '--filter', 'label=io.kubernetes.pod.name=client', '--format', '{{.ID}}'])
  ).stdout.trim();
  const pid = Number((await box.berth(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
  const url = `http://${webIP}:8080/f`;
  wrk(pid, url); // warm-up
  const none: number[] = [];
  const fenced: number[] = [];
  // Alternate which goes first (none, 200, 200, none, none, 200...), so load that comes in
  // bursts falls on both alike and the policies change once per round.
  let fencedNow = false;
  for (let i = 0; i < rounds; i++) {
    for (const on of i % 2 ? [true, false] : [false, true]) {
      if (on !== fencedNow) await (on ? withPolicies(box, client) : withoutPolicies(box, client));
      fencedNow = on;
      (on ? fenced : none).push(wrk(pid, url));
    }
  }
  const [f, n] = [percentile(fenced, 50), percentile(none, 50)];
  console.log(
    `HTTP between allowed pods (wrk -t2 -c16, ${seconds} s x ${rounds} rounds, medians): ${policyCount} NetworkPolicies ${f.toFixed(0)} req/s, none ${n.toFixed(0)} req/s, ratio ${(f / n).toFixed(2)}x (goal >= 0.9x); per round: ${fenced.map((v, i) => (v / none[i]!).toFixed(2)).join(' ')}`,
  );
  if (!fencedNow) await withPolicies(box, client);
  const lat = summarise(await programmingLatency(box, client, 20));
  console.log(
    `Programming latency with ${policyCount} NetworkPolicies (${lat.n} new ones): p50 ${lat.p50.toFixed(0)} ms, max ${lat.max.toFixed(0)} ms (goal: within 2 s)`,
  );
  client.close();
} finally {
  await box.cleanup();
}
