/**
 * bench/dns: queries per second for Service names (`svc-I.default.svc.cluster.local`, A)
 * against Berth's cluster DNS (transport and resolver, as each node's agent serves them) and
 * against dnsmasq serving the same names from host records, side by side in one run; dnsperf
 * drives both. Each server gets one core (taskset -c 0), dnsperf the other. Everything runs
 * in a network namespace made for the run. Aim (issue 14): 20,000 q/s on one core.
 * Besides queries per second, each round reports the server's own CPU time per answered query
 * (user + system, from /proc/PID/stat): on a machine shared with other work the rate follows
 * whatever else runs on that core, while the CPU a query costs barely moves.
 * Run as root: node --import tsx bench/dns.ts [seconds=10] [services=1000]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchServices } from './dns/services.js';
import { have } from './lib/measure.js';
import { waitFor } from './lib/process.js';

const seconds = Number(process.argv[2] ?? 10);
const count = Number(process.argv[3] ?? 1000);
for (const tool of ['dnsperf', 'dnsmasq', 'taskset'])
  if (!have(tool)) {
    console.log(`${tool} is not installed: run make bench-deps`);
    process.exit(0);
  }

const work = mkdtempSync(join(tmpdir(), 'berth-bench-dns-'));
const ns = `berth-bench-dns-${process.pid}`;
const inNs = (file: string, args: string[]) =>
  ['nsenter', [`--net=/run/netns/${ns}`, file, ...args]] as const;
const children: ChildProcess[] = [];
const names = benchServices(count);
const queries = join(work, 'queries');
writeFileSync(queries, names.map((n) => `${n.fqdn} A\n`).join(''));

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A process's CPU time so far in seconds (utime + stime, fields 14 and 15 of /proc/PID/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond;
}

/**
 * dnsperf's queries per second against 127.0.0.1:port in the namespace, with one core, and the
 * server's CPU microseconds per answered query (`pid` is the server process).
 */
function dnsperf(port: number, pid: number): { qps: number; lost: number; cpuUs: number } {
  const cpuBefore = cpuSeconds(pid);
  const [f, a] = inNs('taskset', [
    '-c',
    '1',
    'dnsperf',
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    queries,
    '-l',
    String(seconds),
    '-c',
    '4',
    '-q',
    '200',
  ]);
  const out = execFileSync(f, a, { encoding: 'utf8' });
  const cpu = cpuSeconds(pid) - cpuBefore;
  const qps = /Queries per second:\s+([\d.]+)/.exec(out);
  const lost = /Queries lost:\s+(\d+)/.exec(out);
  const completed = /Queries completed:\s+(\d+)/.exec(out);
  if (!qps || !completed) throw new Error(`dnsperf printed no rate: ${out}`);
  return {
    qps: Number(qps[1]),
    lost: Number(lost?.[1] ?? 0),
    cpuUs: (cpu * 1e6) / Math.max(1, Number(completed[1])),
  };
}

async function start(file: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const [f, a] = inNs('taskset', ['-c', '0', file, ...args]);
  const child = spawn(f, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await waitFor(child, ready);
  return child;
}

try {
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const hosts = join(work, 'hosts');
  writeFileSync(hosts, names.map((n) => `${n.ip} ${n.fqdn}\n`).join(''));
  const berth = await start(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'dns', 'serve.ts'), '127.0.0.1', '5301', String(count)],
    /ready/,
  );
  // dnsmasq as a local authority for the same names: no upstream, no cache misses to chase.
  const dnsmasq = await start(
    'dnsmasq',
    [
      '-k',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${hosts}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--port=5302',
      '--cache-size=10000',
      '--log-facility=-',
      '--user=root',
      '--pid-file=',
    ],
    /started|compile time options/,
  );
  // nsenter and taskset exec, so each child is the server process itself.
  const sides = [
    { name: 'berth cluster DNS', port: 5301, pid: berth.pid! },
    { name: 'dnsmasq', port: 5302, pid: dnsmasq.pid! },
  ];
  // Warm both (JIT, caches), then interleave two rounds each.
  for (const s of sides) dnsperf(s.port, s.pid);
  const rounds = sides.map(() => [] as { qps: number; cpuUs: number }[]);
  for (let round = 0; round < 2; round++)
    for (const [i, s] of sides.entries()) rounds[i]!.push(dnsperf(s.port, s.pid));
  const best = (xs: number[]) => Math.max(...xs);
  const least = (xs: number[]) => Math.min(...xs);
  console.log(`Services: ${count}, ${seconds} s per round, one core per server`);
  for (const [i, s] of sides.entries()) {
    const r = rounds[i]!;
    console.log(
      `${s.name.padEnd(18)} ${Math.round(best(r.map((x) => x.qps)))} q/s (rounds: ${r.map((x) => Math.round(x.qps)).join(', ')}); ` +
        `${least(r.map((x) => x.cpuUs)).toFixed(1)} us CPU per query (rounds: ${r.map((x) => x.cpuUs.toFixed(1)).join(', ')}), ` +
        `${Math.round(1e6 / least(r.map((x) => x.cpuUs)))} q/s per core of CPU`,
    );
  }
  const [b, d] = rounds.map((r) => r.map((x) => x.qps)) as [number[], number[]];
  const [bc, dc] = rounds.map((r) => least(r.map((x) => x.cpuUs))) as [number, number];
  console.log(
    `ratio berth/dnsmasq: ${(best(b) / best(d)).toFixed(2)} by rate, ${(dc / bc).toFixed(2)} by CPU per query; ` +
      `goal 20000 q/s: ${best(b) >= 20_000 ? 'met' : 'not met'} by rate, ${1e6 / bc >= 20_000 ? 'met' : 'not met'} by CPU per query`,
  );
} finally {
  for (const c of children) c.kill('SIGKILL');
  execFileSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
}
