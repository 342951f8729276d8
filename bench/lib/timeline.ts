/**
 * A timeline of a Deployment's start (bench/pods with BENCH_TIMELINE=1): the machine's CPU busy
 * fraction every 100 ms from /proc/stat, and, from watches of the pods, the ReplicaSets and the
 * Deployment, when each pod was first seen created, bound, started (its first container
 * running) and Ready, and when the ReplicaSet's and the Deployment's status reached all
 * replicas ready. Times are when the bench's watch saw the change, in ms from `start`, so the
 * watch's own delivery is part of each figure (as it is of what `kubectl rollout status` sees).
 * It tells the window's wall-clock time apart where the CPU is busy from where it waits; with
 * `ownCpuMs` (the CPU used so far by Berth's side) it also says how much of the busy CPU was
 * Berth's, so other work on a shared machine shows as such.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type KubeClient, type KubeObject, Resources } from '../../src/cluster/client/kube-client.js';

type Stage = 'created' | 'bound' | 'started' | 'ready';
/** One 100 ms sample: the machine's busy fraction, and Berth's side's share of all cores. */
interface Sample {
  t: number;
  busy: number;
  own: number;
}
const STAGES: readonly Stage[] = ['created', 'bound', 'started', 'ready'];

/** Busy and total jiffies of the whole machine (the first line of /proc/stat). */
function cpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').slice(0, 200).split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  // idle and iowait are the fourth and fifth fields.
  return { busy: total - f[3]! - f[4]!, total };
}

const running = (p: KubeObject) =>
  (p.status?.containerStatuses as { state?: { running?: unknown } }[] | undefined)?.some(
    (c) => c.state?.running !== undefined,
  ) ?? false;
const ready = (p: KubeObject) =>
  (p.status?.conditions as { type: string; status: string }[] | undefined)?.some(
    (c) => c.type === 'Ready' && c.status === 'True',
  ) ?? false;

export interface Timeline {
  /** Ends the sampling and the watches and prints the summary for the window [start, now]. */
  stop(): void;
}

/**
 * Starts sampling and watching the objects labelled `app=<app>` in `default` (the Deployment
 * named `app`), counting from now. The watches start from the current resourceVersion.
 */
export async function startTimeline(
  client: KubeClient,
  app: string,
  replicas: number,
  ownCpuMs?: () => number,
): Promise<Timeline> {
  const start = performance.now();
  const at = () => performance.now() - start;
  const samples: Sample[] = [];
  const cores = availableParallelism();
  let last = { ...cpuTicks(), t: 0, own: ownCpuMs?.() ?? 0 };
  const timer = setInterval(() => {
    const now = { ...cpuTicks(), t: at(), own: ownCpuMs?.() ?? 0 };
    const total = now.total - last.total;
    samples.push({
      t: now.t,
      busy: total > 0 ? (now.busy - last.busy) / total : 0,
      own: (now.own - last.own) / (now.t - last.t) / cores,
    });
    last = now;
  }, 100);
  const pods = new Map<string, Partial<Record<Stage, number>>>();
  const full: Record<'replicaset' | 'deployment', number | undefined> = {
    replicaset: undefined,
    deployment: undefined,
  };
  const onPod = (p: KubeObject) => {
    const uid = p.metadata.uid ?? '';
    const s = pods.get(uid) ?? {};
    pods.set(uid, s);
    const t = at();
    s.created ??= t;
    if (p.spec?.nodeName) s.bound ??= t;
    if (running(p)) s.started ??= t;
    if (ready(p)) s.ready ??= t;
  };
  const stoppers: (() => void)[] = [];
  const selector = `labelSelector=${encodeURIComponent(`app=${app}`)}`;
  const watch = async (
    r: (typeof Resources)[keyof typeof Resources],
    query: string,
    on: (o: KubeObject) => void,
  ) => {
    const rv = (await client.list(r, 'default', query)).metadata.resourceVersion;
    stoppers.push(
      client.watch(
        r,
        rv,
        (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') on(e.object);
        },
        (err) => {
          if (err) console.log(`timeline: the watch of ${r.plural} ended: ${err.message}`);
        },
        query,
      ),
    );
  };
  await Promise.all([
    watch(Resources.pods, selector, onPod),
    watch(Resources.replicasets, selector, (o) => {
      if (o.status?.readyReplicas === replicas) full.replicaset ??= at();
    }),
    watch(Resources.deployments, `fieldSelector=${encodeURIComponent(`metadata.name=${app}`)}`, (o) => {
      if (o.status?.readyReplicas === replicas) full.deployment ??= at();
    }),
  ]);
  return {
    stop() {
      clearInterval(timer);
      for (const s of stoppers.splice(0)) s();
      const end = at();
      print(end, samples, [...pods.values()], full);
    },
  };
}

const pct = (f: number) => `${(f * 100).toFixed(0).padStart(3)}%`;
const s1 = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));

function print(
  end: number,
  samples: readonly Sample[],
  pods: readonly Partial<Record<Stage, number>>[],
  full: Record<'replicaset' | 'deployment', number | undefined>,
): void {
  console.log(`timeline of the Deployment's ${(end / 1000).toFixed(2)} s (times in s from kubectl apply):`);
  // Per tenth of the window: the CPU busy fraction, and how many pods had reached each stage by its end.
  const rows: string[] = [];
  for (let i = 0; i < 10; i++) {
    const [a, b] = [(end * i) / 10, (end * (i + 1)) / 10];
    const inside = samples.filter((s) => s.t > a && s.t <= b + 50);
    const mean = (f: (s: Sample) => number) =>
      inside.length ? inside.reduce((x, s) => x + f(s), 0) / inside.length : Number.NaN;
    const [busy, own] = [mean((s) => s.busy), mean((s) => s.own)];
    const counts = STAGES.map((st) => pods.filter((p) => p[st] !== undefined && p[st]! <= b).length);
    rows.push(`  ${s1(b).padStart(5)} busy ${pct(busy)} (berth ${pct(own)})  ${counts.join('/')}`);
  }
  console.log(
    `  (end of each tenth: CPU busy, pods created/bound/started/Ready by then)\n${rows.join('\n')}`,
  );
  // The ramp in finer steps: the first second's samples, one per 100 ms.
  const ramp = samples
    .filter((s) => s.t <= 1050)
    .map((s) => `${(s.busy * 100).toFixed(0)}/${(s.own * 100).toFixed(0)}`);
  console.log(`  CPU busy %/berth's % per 100 ms of the first second: ${ramp.join(' ')}`);
  for (const st of STAGES) {
    const ts = pods
      .map((p) => p[st])
      .filter((t): t is number => t !== undefined)
      .sort((x, y) => x - y);
    console.log(
      `  ${st.padEnd(8)} n=${ts.length} first ${s1(ts[0])} median ${s1(ts[Math.floor(ts.length / 2)])} last ${s1(ts.at(-1))}`,
    );
  }
  const lastReady = Math.max(...pods.map((p) => p.ready ?? Number.NaN).filter((t) => !Number.isNaN(t)));
  console.log(
    `  last pod Ready ${s1(lastReady)}, ReplicaSet ready=all ${s1(full.replicaset)} (+${s1(
      full.replicaset === undefined ? undefined : full.replicaset - lastReady,
    )}), Deployment ready=all ${s1(full.deployment)} (+${s1(
      full.deployment === undefined ? undefined : full.deployment - lastReady,
    )}), bench saw it ${s1(end)}`,
  );
  // The per-pod waits between stages, median and max: where a pod spent its time.
  for (const [a, b] of [
    ['created', 'bound'],
    ['bound', 'started'],
    ['started', 'ready'],
  ] as const) {
    const d = pods
      .filter((p) => p[a] !== undefined && p[b] !== undefined)
      .map((p) => p[b]! - p[a]!)
      .sort((x, y) => x - y);
    console.log(`  ${a} -> ${b}: median ${s1(d[Math.floor(d.length / 2)])} max ${s1(d.at(-1))}`);
  }
}
