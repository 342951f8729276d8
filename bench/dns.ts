/**
 * bench/dns: queries per second for Service names (`svc-I.default.svc.cluster.local`, A)
 * against Berth's cluster DNS (transport and resolver, as each node's agent serves them) and
 * against dnsmasq serving the same names from host records, side by side in one run; dnsperf
 * drives both. Each server gets one core (taskset -c 0), dnsperf the other. Everything runs
 * in a network namespace made for the run. Aim (issue 14): 20,000 q/s on one core.
 * Run as root: node --import tsx bench/dns.ts [seconds=10] [services=1000]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** dnsperf's queries per second against 127.0.0.1:port in the namespace, with one core. */
function dnsperf(port: number): { qps: number; lost: number } {
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
  const qps = /Queries per second:\s+([\d.]+)/.exec(out);
  const lost = /Queries lost:\s+(\d+)/.exec(out);
  if (!qps) throw new Error(`dnsperf printed no rate: ${out}`);
  return { qps: Number(qps[1]), lost: Number(lost?.[1] ?? 0) };
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
  await start(
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
  // Warm both (JIT, caches), then interleave two rounds each.
  dnsperf(5301);
  dnsperf(5302);
  const b: number[] = [];
  const d: number[] = [];
  for (let round = 0; round < 2; round++) {
    b.push(dnsperf(5301).qps);
    d.push(dnsperf(5302).qps);
  }
  const best = (xs: number[]) => Math.max(...xs);
  console.log(`Services: ${count}, ${seconds} s per round, one core per server`);
  console.log(`berth cluster DNS: ${Math.round(best(b))} q/s (rounds: ${b.map(Math.round).join(', ')})`);
  console.log(`dnsmasq:           ${Math.round(best(d))} q/s (rounds: ${d.map(Math.round).join(', ')})`);
  console.log(
    `ratio berth/dnsmasq: ${(best(b) / best(d)).toFixed(2)}; goal 20000 q/s: ${best(b) >= 20_000 ? 'met' : 'not met'}`,
  );
  void berth;
} finally {
  for (const c of children) c.kill('SIGKILL');
  execFileSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
}
