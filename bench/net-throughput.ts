/**
 * bench/net-throughput: HTTP throughput (wrk) against busybox httpd serving a 4 KiB file in
 * a Berth container, through a published port and at the container's own address; prints
 * both and their ratio (issue 5's goal: the published port at least 0.9x). Measured from two
 * places: a client machine (a second namespace joined to the "host" namespace by a veth pair,
 * the way a published port is normally reached), and the host itself over 127.0.0.1 (which
 * adds the hairpin: source NAT back to the host, and route_localnet).
 * Everything runs in network namespaces made for the run and deleted after it, so the host's
 * network is never touched. Run as root: node --import tsx bench/net-throughput.ts [seconds=5]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { have } from './lib/measure.js';

const seconds = Number(process.argv[2] ?? 5);
const berthBin = resolve(import.meta.dirname, '..', 'bin', 'berth');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
const ns = `berth-bench-net-${process.pid}`;
const clientNs = `berth-bench-netc-${process.pid}`;
const inNs = (file: string, args: string[], where = ns) =>
  execFileSync('nsenter', [`--net=/run/netns/${where}`, file, ...args], { encoding: 'utf8' });
const berth = (args: string[]) =>
  inNs(berthBin, ['--root', join(work, 'root'), '--runroot', join(work, 'run'), ...args]).trim();

/** Requests per second from wrk's summary. */
function wrk(url: string, where = ns): number {
  const out = inNs('wrk', ['-t2', '-c16', `-d${seconds}s`, url], where);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk printed no rate: ${out}`);
  return Number(m[1]);
}

if (!have('wrk')) {
  console.log('wrk is not installed: run make bench-deps');
  process.exit(0);
}
execFileSync('ip', ['netns', 'add', ns]);
execFileSync('ip', ['netns', 'add', clientNs]);
try {
  inNs('ip', ['link', 'set', 'lo', 'up']);
  // The client machine: 198.18.0.2 (a benchmarking range) behind a veth to the host's
  // 198.18.0.1, routing the container subnet through the host. Both ends are in namespaces
  // of this run.
  execFileSync('ip', [
    '-n',
    ns,
    'link',
    'add',
    'bh0',
    'type',
    'veth',
    'peer',
    'name',
    'bc0',
    'netns',
    clientNs,
  ]);
  inNs('ip', ['addr', 'add', '198.18.0.1/30', 'dev', 'bh0']);
  inNs('ip', ['link', 'set', 'bh0', 'up']);
  inNs('ip', ['link', 'set', 'lo', 'up'], clientNs);
  inNs('ip', ['addr', 'add', '198.18.0.2/30', 'dev', 'bc0'], clientNs);
  inNs('ip', ['link', 'set', 'bc0', 'up'], clientNs);
  berth(['import', await busyboxRootfsTar(), 'bb:bench']);
  // Every measurement gets fresh servers: a run's connections must not meet an earlier
  // run's TIME_WAIT sockets and conntrack entries for the same 4-tuples (after DNAT the
  // published path's tuples are the direct path's), which slowed whichever ran later by up
  // to a half. Per round: one server behind a published port, one reached at its address.
  const serve = 'mkdir -p /www && head -c 4096 /dev/zero > /www/f && httpd -f -p 80 -h /www';
  const made: string[] = [];
  const server = async (port?: number) => {
    const id = berth(['run', '-d', ...(port ? ['-p', `${port}:80`] : []), 'bb:bench', 'sh', '-c', serve]);
    made.push(id);
    const addr = JSON.parse(berth(['inspect', id]))[0].NetworkSettings.IPAddress as string;
    for (let i = 0; i < 50; i++) {
      try {
        inNs('/bin/busybox', ['wget', '-q', '-O', '/dev/null', `http://${addr}/f`]);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return addr;
  };
  // Three rounds, the order alternating, medians: single runs of a few seconds vary by 10%.
  const runs = {
    direct: [] as number[],
    published: [] as number[],
    directLocal: [] as number[],
    publishedLocal: [] as number[],
  };
  let routed = false;
  for (let round = 0; round < 3; round++) {
    const port = 18080 + round;
    await server(port);
    const ip = await server();
    if (!routed) {
      inNs(
        'ip',
        ['route', 'add', `${ip.split('.').slice(0, 2).join('.')}.0.0/16`, 'via', '198.18.0.1'],
        clientNs,
      );
      routed = true;
    }
    const all = [
      () => runs.direct.push(wrk(`http://${ip}/f`, clientNs)),
      () => runs.published.push(wrk(`http://198.18.0.1:${port}/f`, clientNs)),
      () => runs.directLocal.push(wrk(`http://${ip}/f`)),
      () => runs.publishedLocal.push(wrk(`http://127.0.0.1:${port}/f`)),
    ];
    for (const run of round % 2 ? all.reverse() : all) run();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const direct = med(runs.direct);
  const published = med(runs.published);
  const directLocal = med(runs.directLocal);
  const publishedLocal = med(runs.publishedLocal);
  console.log(`bench/net-throughput: wrk -t2 -c16 -d${seconds}s, busybox httpd, 4 KiB file, medians of 3`);
  console.log('from a client machine (its own namespace, through a veth to the host):');
  console.log(`  container address: ${direct.toFixed(0)} requests/s`);
  console.log(`  published port on 198.18.0.1: ${published.toFixed(0)} requests/s`);
  console.log(`  ratio published/direct: ${(published / direct).toFixed(2)}x (goal >= 0.9x)`);
  console.log('from the host itself:');
  console.log(`  container address: ${directLocal.toFixed(0)} requests/s`);
  console.log(`  published port on 127.0.0.1: ${publishedLocal.toFixed(0)} requests/s`);
  console.log(`  ratio published/direct: ${(publishedLocal / directLocal).toFixed(2)}x (hairpin NAT)`);
  berth(['rm', '-f', ...made]);
} finally {
  try {
    // Stop what still runs in the namespace, then delete it.
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const p of pids) process.kill(Number(p), 'SIGKILL');
  } catch {
    /* none */
  }
  execFileSync('ip', ['netns', 'del', ns]);
  execFileSync('ip', ['netns', 'del', clientNs]);
  execFileSync('sh', ['-c', `grep -o '${work}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  rmSync(work, { recursive: true, force: true });
}
