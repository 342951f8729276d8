/**
 * bench/ingress: the built-in Ingress controller, the figures of issue 20.
 * 1. HTTP requests per second through the Ingress against the same pod by its own address
 *    (wrk, with keep-alive and with a new connection per request), and their ratios (goal >= 0.7x).
 * 2. HTTPS handshakes per second (`openssl s_time -new -www /f`: a full handshake and one
 *    HTTP/1.0 request per connection, one connection at a time) through the Ingress against
 *    nginx from Debian proxying to the same pod (one worker: the Ingress is one Node thread).
 *    s_time sends no SNI, so the Ingress answers with its default certificate and routes by its
 *    default backend; nginx has the Secret's. Both are self-signed RSA 2048, the same cost.
 * 3. For reference, the same wrk runs through that nginx to the same pod, and the CPU time per
 *    request of the Ingress (its helper processes, or the controller's thread without them), of
 *    the berth server process and of nginx's workers in each run (less sensitive to other load
 *    on the machine than the rates).
 * 4. For keep-alive, round by round: the ratio beside the Ingress's CPU per request, its helpers'
 *    voluntary and involuntary context switches per 1,000 requests, each helper's share of
 *    their CPU, and the cores busy outside the bench's processes and its pod (other work on the
 *    machine) during the Ingress's, the pod's and nginx's runs: where a round's ratio comes from.
 * nginx runs as many workers as the Ingress has helper processes (one without): BENCH_INGRESS_HELPERS
 * sets `--ingress-helpers` (default: the server's, one per CPU), BENCH_NGINX_WORKERS overrides.
 * The web pod keeps connections alive as nginx does by default; BENCH_POD_KEEPALIVE=off has it
 * close each after its answer. Both proxies keep their connections to it (nginx: `keepalive` in
 * its upstream) whatever the client's Connection says.
 * The Ingress gets BENCH_WARMUP seconds (10) of wrk before the rounds.
 *    (wrk is not used for handshakes: it resumes TLS sessions, and against Node's TLS server
 *    with tickets it measured 30-50 connections/s where s_time measured 400 and more.)
 * `berth server` with its embedded agent runs in a network namespace made for the run, its
 * address on a veth "wire"; wrk and s_time run in a second namespace at the wire's other end,
 * as clients on another machine do (on the node, wrk's own TIME_WAITs toward the pod and its
 * connections' ports shared with the proxies' made `Connection: close` runs fall over time;
 * docs/ingress.md), and see `bench.test` at the node's address through a hosts file mounted in
 * a mount namespace of their own. Run as root:
 *   node --import tsx bench/ingress.ts [seconds=3] [rounds=5]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KubeClient, Resources } from '../src/cluster/client/kube-client.js';
import { allowedCpus } from '../src/cluster/ingress/cpu-affinity.js';
import { ingresses } from '../src/cluster/ingress/ingress-class.js';
import { type Sandbox, sandbox } from '../test/helpers/sandbox.js';
import {
  adminClient,
  importWebImage,
  podKeepAlive,
  spawnServer,
  webDeployment,
  wireNode,
} from './lib/cluster.js';
import { CpuAccount } from './lib/cpu-account.js';
import { have, interleave, percentile } from './lib/measure.js';
import { cpuMs, threadCpuMs, waitFor } from './lib/process.js';
import { until } from './lib/until.js';

const [seconds, rounds] = [3, 5].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number];
/** wrk's open connections (BENCH_WRK_C). */
const connections = Number(process.env.BENCH_WRK_C ?? 16);
const nodeIP = '198.18.1.1';
/** The client's address, at the wire's other end (the node's default gateway). */
const clientIP = '198.18.1.254';
const nginxPort = 8443;
const nginxHttpPort = 8081;
const helperFlag = process.env.BENCH_INGRESS_HELPERS;
/**
 * Whether the web pod keeps connections alive (BENCH_POD_KEEPALIVE=on, the default: nginx's
 * own, as real pods' servers do) or closes each after its answer (`off`: every request, direct
 * or proxied, then opens a new connection to the pod).
 */
const keepAlive = podKeepAlive(true);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

for (const p of ['wrk', 'nginx', 'openssl']) {
  if (!have(p)) {
    console.log(`${p} is not installed: run make bench-deps`);
    process.exit(0);
  }
}

/** What one load run did: its rate per second and how many requests (or connections) it made. */
interface Done {
  rate: number;
  count: number;
}

/** The web pod, its Service, a TLS Secret for bench.test and an Ingress; returns the pod's address. */
async function setUp(box: Sandbox, client: KubeClient, cert: string, key: string): Promise<string> {
  await importWebImage(box);
  await client.create(Resources.deployments, 'default', webDeployment(keepAlive));
  await client.create(Resources.services, 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
  });
  await client.create(Resources.secrets, 'default', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'bench' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  });
  await client.create(ingresses, 'default', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'bench' },
    spec: {
      // For clients that name no host (s_time).
      defaultBackend: { service: { name: 'web', port: { number: 80 } } },
      tls: [{ hosts: ['bench.test'], secretName: 'bench' }],
      rules: [
        {
          host: 'bench.test',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  });
  let podIP = '';
  await until(
    'the web pod running',
    async () => {
      const pods = (await client.list(Resources.pods, 'default')).items;
      podIP = pods[0]?.status?.podIP ?? '';
      return pods.length === 1 && pods[0]?.status?.phase === 'Running';
    },
    { tolerateErrors: true },
  );
  return podIP;
}

/**
 * The nginx configuration: `workers` workers (each pinned to a CPU of its own with `pinned`, as
 * the Ingress's helpers then are), TLS with the same certificate, HTTP/1.1 keep-alive to the pod.
 */
function nginxConf(dir: string, podIP: string, workers: number, pinned: boolean): string {
  return `daemon off;
worker_processes ${workers};
${pinned ? 'worker_cpu_affinity auto;\n' : ''}pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream web { server ${podIP}:8080; keepalive 64; }
  server {
    listen ${nodeIP}:${nginxPort} ssl http2;
    listen ${nodeIP}:${nginxHttpPort};
    server_name bench.test;
    ssl_certificate ${dir}/bench.crt;
    ssl_certificate_key ${dir}/bench.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`;
}

/** The Ingress helper processes of the berth server process (children of its Ingress thread). */
function ingressHelpers(serverPid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${serverPid}/task`))
    for (const c of readFileSync(`/proc/${serverPid}/task/${tid}/children`, 'utf8').trim().split(' ')) {
      if (c && readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('ingress-helper')) out.push(Number(c));
    }
  return out;
}

/** The CPUs a process may run on (its affinity), as a comma list. */
const cpusAllowed = (pid: number | 'self') => allowedCpus(`/proc/${pid}/status`).join(',');

/** The clients' namespace: named after the sandbox's, so its cleanup finds strays in it too. */
const clientNetns = (box: Sandbox) => `${box.netns}-client`;

/**
 * Moves the wire's other end into a namespace of the clients' own, with the client's address,
 * and routes the pod network through the node, which forwards (a pod answers the client by
 * its default route, the node). Everything stays inside namespaces the bench made.
 */
async function wireClient(box: Sandbox): Promise<void> {
  const ns = clientNetns(box);
  execFileSync('ip', ['netns', 'add', ns]);
  await box.exec('ip', ['link', 'set', 'wire1', 'netns', ns]);
  await box.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // New connections may take the port of a TIME_WAIT older than a second, on the node and the
  // client (ingress-nginx's tuning guide sets this on nodes, and load generators use it). nginx
  // as the proxy closes first toward the pod about half the time, which left ~14,000
  // TIME_WAITs toward it on the node within half a minute: past that every connect() from the
  // node to the pod, the Ingress's too, scanned the whole port range and each proxied rate fell
  // tenfold (docs/ingress.md). The Ingress leaves none there.
  await box.exec('sysctl', ['-qw', 'net.ipv4.tcp_tw_reuse=1']);
  execFileSync('nsenter', [`--net=/run/netns/${ns}`, 'sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1']);
  for (const args of [
    ['link', 'set', 'lo', 'up'],
    ['addr', 'add', `${clientIP}/24`, 'dev', 'wire1'],
    ['link', 'set', 'wire1', 'up'],
    ['route', 'add', 'default', 'via', nodeIP, 'dev', 'wire1'],
  ])
    execFileSync('ip', ['-n', ns, ...args]);
}

/** Busy milliseconds of the whole machine, every core (the first line of /proc/stat; USER_HZ 100). */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8')
    .slice(0, 200)
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // idle and iowait are the fourth and fifth fields.
  return (f.slice(0, 8).reduce((a, b) => a + b, 0) - f[3]! - f[4]!) * 10;
}

/**
 * Context switches of processes' main threads: voluntary (each a sleep in epoll_wait, so a
 * wakeup) and involuntary (preempted while runnable: the cores were contested).
 */
function ctxSwitches(pids: readonly number[]): [number, number] {
  let [v, n] = [0, 0];
  for (const p of pids) {
    const st = readFileSync(`/proc/${p}/status`, 'utf8');
    v += Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
    n += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
  }
  return [v, n];
}

const box = await sandbox(undefined, { netns: true });
// The bench's own processes (the server, its helpers, nginx, wrk) and the pod's are counted in
// cgroups, so the machine's other work during each run shows apart (the "foreign" load).
const account = CpuAccount.start();
try {
  await wireNode(box, nodeIP, clientIP);
  await wireClient(box);
  const dir = box.dir;
  execFileSync('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=bench.test'],
    ...[
      '-addext',
      'subjectAltName=DNS:bench.test',
      '-keyout',
      join(dir, 'bench.key'),
      '-out',
      join(dir, 'bench.crt'),
    ],
  ]);
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost\n${nodeIP} bench.test\n`);
  const { server, dataDir } = await spawnServer(
    box,
    nodeIP,
    process.env,
    helperFlag ? ['--ingress-helpers', helperFlag] : [],
  );
  await waitFor(server, /cluster is ready/, 120_000);
  const client = adminClient(dataDir);
  const podIP = await setUp(
    box,
    client,
    readFileSync(join(dir, 'bench.crt'), 'utf8'),
    readFileSync(join(dir, 'bench.key'), 'utf8'),
  );
  const helpers = ingressHelpers(server.pid ?? 0);
  const workers = Number(process.env.BENCH_NGINX_WORKERS ?? Math.max(helpers.length, 1));
  // Helpers pinned to a CPU each (the Ingress's default where it can): nginx's workers get the
  // same (`worker_cpu_affinity auto`), so neither side has the scheduler's placement the other lacks.
  const pinned = helpers.map(cpusAllowed);
  const pin = pinned.some((c) => c !== cpusAllowed('self'));
  console.log(
    `Ingress helper processes: ${helpers.length}${pin ? ` on CPUs ${pinned.join(' ')}` : ''}; nginx workers: ${workers}${pin ? ', worker_cpu_affinity auto' : ''}; the pod's keep-alive ${keepAlive ? 'on (nginx default)' : 'off'}; load average at start ${loadAverage()}`,
  );
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, podIP, workers, pin));
  const nginx = box.spawn(
    'nginx',
    ['-e', join(dir, 'nginx-error.log'), '-c', join(dir, 'nginx.conf'), '-p', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  nginx.once('exit', (code) => {
    if (code) console.log(`nginx exited with ${code}: ${readFileSync(join(dir, 'nginx-error.log'), 'utf8')}`);
  });

  /** Requests per second and how many, from wrk in the client's namespace, with bench.test at the node. */
  const wrk = (url: string, close: boolean): Done => {
    const args = [
      '-t2',
      `-c${connections}`,
      `-d${seconds}s`,
      ...(close ? ['-H', 'Connection: close'] : []),
      url,
    ];
    const out = execFileSync(
      'nsenter',
      [
        `--net=/run/netns/${clientNetns(box)}`,
        'unshare',
        '-m',
        'sh',
        '-c',
        `mount --bind ${join(dir, 'hosts')} /etc/hosts && exec wrk "$@"`,
        'wrk',
        ...args,
      ],
      { encoding: 'utf8' },
    );
    // BENCH_WRK_LOG=1 prints each run's latency line: rounds of a tenth of the usual rate, with
    // every request slow, or a 1 s tail of retransmitted SYNs, show there (docs/ingress.md).
    // With it, the TIME_WAITs of the client and of the node by the address and port they are
    // toward: near 14,000 toward one, every connect() there scans the even half of the ports
    // (docs/ingress.md).
    if (process.env.BENCH_WRK_LOG)
      console.log(
        url,
        close ? 'close' : 'keep-alive',
        out
          .split('\n')
          .filter((l) => /Latency|Socket|Non-2xx|Requests\/sec/.test(l))
          .join(' |'),
        `| TIME_WAIT: client toward ${timeWaits(clientNetns(box))}; node toward ${timeWaits(box.netns ?? '')}`,
      );
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const n = /(\d+) requests in/.exec(out);
    if (!m || !n) throw new Error(`wrk printed no rate: ${out}`);
    return { rate: Number(m[1]), count: Number(n[1]) };
  };
  /** The TIME_WAIT connections of a namespace counted by their peer address and port, most first. */
  const timeWaits = (netns: string) => {
    const out = execFileSync('nsenter', [`--net=/run/netns/${netns}`, 'ss', '-Htan', 'state', 'time-wait'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const by = new Map<string, number>();
    for (const line of out.split('\n')) {
      const peer = line.trim().split(/\s+/)[3];
      if (peer) by.set(peer, (by.get(peer) ?? 0) + 1);
    }
    return (
      [...by]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([peer, n]) => `${peer} ${n}`)
        .join(', ') || 'none'
    );
  };
  /** Full TLS handshakes (each with one request) per second, from s_time in the client's namespace. */
  const handshakes = (port: number): Done => {
    // s_time gives whole seconds of wall time; the run's own clock is finer.
    const t0 = performance.now();
    const out = execFileSync(
      'nsenter',
      [
        `--net=/run/netns/${clientNetns(box)}`,
        ...[
          'openssl',
          's_time',
          '-connect',
          `${nodeIP}:${port}`,
          '-new',
          '-time',
          String(seconds),
          '-www',
          '/f',
        ],
      ],
      { encoding: 'utf8' },
    );
    const elapsed = (performance.now() - t0) / 1000;
    const m = /(\d+) connections in [\d.]+ real seconds/.exec(out);
    if (!m) throw new Error(`s_time printed no rate: ${out}`);
    return { rate: Number(m[1]) / elapsed, count: Number(m[1]) };
  };
  const ok = async (url: string) =>
    (
      await box.exec(
        'curl',
        [
          '-sk',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--resolve',
          `bench.test:${new URL(url).port || 443}:${nodeIP}`,
          url,
        ],
        {
          check: false,
        },
      )
    ).stdout === '200';
  await until('the Ingress routes bench.test', () => ok('https://bench.test/f'), { tolerateErrors: true });
  await until('nginx answers', () => ok(`https://bench.test:${nginxPort}/f`), { tolerateErrors: true });

  const ingressHttp = 'http://bench.test/f';
  const direct = `http://${podIP}:8080/f`;
  const viaNginx = `http://bench.test:${nginxHttpPort}/f`;
  const serverPid = server.pid ?? 0;
  const nginxWorkers = readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, 'utf8')
    .trim()
    .split(' ')
    .map(Number);
  /**
   * CPU time per request (microseconds) by run label: of the serving processes (the Ingress's
   * helpers, nginx's workers), and for the Ingress of the berth server process and its busiest
   * thread (without helpers the Ingress thread; the process adds the API server's, the
   * controllers' and the agent's background work).
   */
  const cpu = new Map<string, number[]>();
  const add = (label: string, us: number) => cpu.set(label, [...(cpu.get(label) ?? []), us]);
  /** Cores busy with work outside the bench and its pod during each run, by run label. */
  const foreign = new Map<string, number[]>();
  const note = (m: Map<string, number[]>, label: string, v: number) =>
    m.set(label, [...(m.get(label) ?? []), v]);
  /** The serving processes' voluntary+involuntary switches per 1,000 requests, by run label. */
  const switches = new Map<string, string[]>();
  /** Each serving process's percentage of their CPU, by run label. */
  const shares = new Map<string, string[]>();
  const sum = (pids: readonly number[]) => pids.reduce((t, p) => t + cpuMs(p), 0);
  /** The main threads' part (V8's GC and compiler threads are the rest). */
  const mains = (pids: readonly number[]) => pids.reduce((t, p) => t + (threadCpuMs(p).get(p) ?? 0), 0);
  const measured = (label: string, pids: readonly number[], run: () => Done, server?: number) => () => {
    const [c0, m0] = [sum(pids), mains(pids)];
    const s0 = server ? cpuMs(server) : 0;
    const t0 = server ? threadCpuMs(server) : undefined;
    const e0 = pids.map(cpuMs);
    const [b0, o0, w0, p0] = [
      machineBusyMs(),
      account?.usedMs([box.cgroupParent]) ?? 0,
      performance.now(),
      ctxSwitches(pids),
    ];
    const r = run();
    const wall = performance.now() - w0;
    const own = (account?.usedMs([box.cgroupParent]) ?? 0) - o0;
    if (account) note(foreign, label, Math.max(0, machineBusyMs() - b0 - own) / wall);
    const p1 = ctxSwitches(pids);
    switches.set(label, [
      ...(switches.get(label) ?? []),
      `${(((p1[0] - p0[0]) * 1000) / r.count).toFixed(0)}+${(((p1[1] - p0[1]) * 1000) / r.count).toFixed(0)}`,
    ]);
    // Each serving process's share of their CPU in the run (how evenly the connections fell).
    if (pids.length > 1) {
      const each = pids.map((p, i) => cpuMs(p) - (e0[i] ?? 0));
      const all = each.reduce((a, b) => a + b, 0) || 1;
      shares.set(label, [
        ...(shares.get(label) ?? []),
        each.map((v) => ((100 * v) / all).toFixed(0)).join('/'),
      ]);
    }
    add(label, ((sum(pids) - c0) * 1000) / r.count);
    add(`${label} main`, ((mains(pids) - m0) * 1000) / r.count);
    if (server && t0) {
      add(`${label} process`, ((cpuMs(server) - s0) * 1000) / r.count);
      const t1 = threadCpuMs(server);
      const busiest = Math.max(...[...t1].map(([tid, ms]) => ms - (t0.get(tid) ?? ms)));
      add(`${label} thread`, (busiest * 1000) / r.count);
    }
    return r.rate;
  };
  const ingress = (label: string, run: () => Done) => measured(label, helpers, run, serverPid);
  // V8 compiles the Ingress's hot paths over its first tens of thousands of requests, partly on
  // background threads, and each helper sees only its share of them: without this, short
  // rounds on a loaded machine measured that compiling (helpers 1.4-1.9x the thread's CPU per
  // request, a third of it off the main threads). nginx needs none.
  const warmUp = Number(process.env.BENCH_WARMUP ?? 10);
  if (warmUp > 0)
    execFileSync('nsenter', [
      `--net=/run/netns/${clientNetns(box)}`,
      ...['wrk', '-t2', `-c${connections}`, `-d${warmUp}s`, `http://${nodeIP}/f`],
    ]);
  const [viaKa, directKa, viaNew, directNew, nginxKa, nginxNew, ingressTls, nginxTls] = interleave(
    rounds,
    1,
    [
      ingress('ingress keep-alive', () => wrk(ingressHttp, false)),
      measured('direct', [], () => wrk(direct, false)),
      ingress('ingress per connection', () => wrk(ingressHttp, true)),
      measured('direct', [], () => wrk(direct, true)),
      measured('nginx keep-alive', nginxWorkers, () => wrk(viaNginx, false)),
      measured('nginx per connection', nginxWorkers, () => wrk(viaNginx, true)),
      ingress('ingress handshake', () => handshakes(443)),
      measured('nginx handshake', nginxWorkers, () => handshakes(nginxPort)),
    ],
  ) as number[][];
  const med = (v: number[] | undefined) => percentile(v ?? [], 50);
  const perRound = (a: number[], b: number[]) => a.map((v, i) => (v / (b[i] ?? 1)).toFixed(2)).join(' ');
  const line = (label: string, a: number[], b: number[], names: [string, string], goal: string) =>
    console.log(
      `${label} (wrk -t2 -c${connections}, ${seconds} s x ${rounds} rounds, medians): ${names[0]} ${med(a).toFixed(0)} req/s, ${names[1]} ${med(b).toFixed(0)} req/s, ratio ${(med(a) / med(b)).toFixed(2)}x (${goal}); per round: ${perRound(a, b)}`,
    );
  line('HTTP, client keep-alive', viaKa!, directKa!, ['through the Ingress', 'pod directly'], 'goal >= 0.7x');
  line(
    'HTTP, a connection per request',
    viaNew!,
    directNew!,
    ['through the Ingress', 'pod directly'],
    'goal >= 0.7x',
  );
  line(
    'For reference, nginx, keep-alive',
    nginxKa!,
    directKa!,
    ['through nginx', 'pod directly'],
    `nginx workers: ${workers}`,
  );
  line(
    'For reference, nginx, a connection per request',
    nginxNew!,
    directNew!,
    ['through nginx', 'pod directly'],
    `nginx workers: ${workers}`,
  );
  console.log(
    `HTTPS handshakes (openssl s_time -new, one request each, ${seconds} s x ${rounds} rounds, medians): Ingress ${med(ingressTls).toFixed(0)}/s, nginx ${med(nginxTls).toFixed(0)}/s, ratio ${(med(ingressTls) / med(nginxTls)).toFixed(2)}x (aim: parity); per round: ${perRound(ingressTls!, nginxTls!)}`,
  );
  // Without interleave()'s unmeasured first round, whose figures are the first of each label's.
  const us = (label: string) => `${med(cpu.get(label)?.slice(1)).toFixed(0)} us`;
  const ing = (label: string) =>
    helpers.length
      ? `${us(label)} (main threads ${us(`${label} main`)}, server process ${us(`${label} process`)})`
      : `${us(`${label} thread`)} (process ${us(`${label} process`)})`;
  console.log(
    `CPU per request (medians; ${helpers.length ? "the Ingress's helpers (the berth server process)" : 'the Ingress thread (the berth server process)'}, nginx's workers): keep-alive Ingress ${ing('ingress keep-alive')}, nginx ${us('nginx keep-alive')}; a connection per request Ingress ${ing('ingress per connection')}, nginx ${us('nginx per connection')}; per HTTPS handshake and its request Ingress ${ing('ingress handshake')}, nginx ${us('nginx handshake')}`,
  );
  // Where a round's ratio comes from: the Ingress's CPU per request, how often its helpers were
  // preempted, and the cores other work on the machine took, in that round's runs.
  const f2 = (v: number | undefined) => (v ?? Number.NaN).toFixed(2);
  // The figures of each run include interleave()'s unmeasured first round: round i is at i + 1.
  console.log(
    `Keep-alive by round: ratio, Ingress us per request, the helpers' voluntary+involuntary switches per 1,000 requests, each helper's share of their CPU, cores busy outside the bench (Ingress run / pod directly run / nginx run): ${viaKa!
      .map(
        (v, i) =>
          `${(v / (directKa![i] ?? 1)).toFixed(2)} ${(cpu.get('ingress keep-alive')?.[i + 1] ?? Number.NaN).toFixed(0)} us ${switches.get('ingress keep-alive')?.[i + 1] ?? '-'} ${shares.get('ingress keep-alive')?.[i + 1] ?? '-'}% (nginx ${switches.get('nginx keep-alive')?.[i + 1] ?? '-'}, ${shares.get('nginx keep-alive')?.[i + 1] ?? '-'}%) ${f2(foreign.get('ingress keep-alive')?.[i + 1])}/${f2(foreign.get('direct')?.[2 * (i + 1)])}/${f2(foreign.get('nginx keep-alive')?.[i + 1])}`,
      )
      .join('; ')}`,
  );
  console.log(`Load average at the end: ${loadAverage()}`);
  client.close();
} finally {
  // Absent when the run failed before making it: spawnSync reports that instead of throwing.
  spawnSync('ip', ['netns', 'delete', clientNetns(box)], { stdio: 'ignore' });
  await box.cleanup();
  account?.stop();
}
