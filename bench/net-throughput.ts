/**
 * bench/net-throughput: HTTP throughput (wrk) against busybox httpd serving a 4 KiB file in
 * a Berth container, through a published port on 127.0.0.1 and at the container's own
 * address; prints both and their ratio (issue 5's goal: the published port at least 0.9x).
 * Everything runs in a network namespace made for the run and deleted after it, so the
 * host's network is never touched. Run as root: node --import tsx bench/net-throughput.ts [seconds=5]
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
const inNs = (file: string, args: string[]) =>
  execFileSync('nsenter', [`--net=/run/netns/${ns}`, file, ...args], { encoding: 'utf8' });
const berth = (args: string[]) =>
  inNs(berthBin, ['--root', join(work, 'root'), '--runroot', join(work, 'run'), ...args]).trim();

/** Requests per second from wrk's summary. */
function wrk(url: string): number {
  const out = inNs('wrk', ['-t2', '-c16', `-d${seconds}s`, url]);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk printed no rate: ${out}`);
  return Number(m[1]);
}

if (!have('wrk')) {
  console.log('wrk is not installed: run make bench-deps');
  process.exit(0);
}
execFileSync('ip', ['netns', 'add', ns]);
try {
  inNs('ip', ['link', 'set', 'lo', 'up']);
  berth(['import', await busyboxRootfsTar(), 'bb:bench']);
  const id = berth([
    'run',
    '-d',
    '-p',
    '127.0.0.1:18080:80',
    'bb:bench',
    'sh',
    '-c',
    'mkdir -p /www && head -c 4096 /dev/zero > /www/f && httpd -f -p 80 -h /www',
  ]);
  const ip = JSON.parse(berth(['inspect', id]))[0].NetworkSettings.IPAddress as string;
  // Warm up both paths (and wait for httpd).
  for (let i = 0; i < 50; i++) {
    try {
      inNs('/bin/busybox', ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:18080/f']);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const direct = wrk(`http://${ip}/f`);
  const published = wrk('http://127.0.0.1:18080/f');
  console.log(`bench/net-throughput: wrk -t2 -c16 -d${seconds}s, busybox httpd, 4 KiB file`);
  console.log(`container address ${ip}:80: ${direct.toFixed(0)} requests/s`);
  console.log(`published port 127.0.0.1:18080: ${published.toFixed(0)} requests/s`);
  console.log(`ratio published/direct: ${(published / direct).toFixed(2)}x (goal >= 0.9x)`);
  berth(['rm', '-f', id]);
} finally {
  try {
    // Stop what still runs in the namespace, then delete it.
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const p of pids) process.kill(Number(p), 'SIGKILL');
  } catch {
    /* none */
  }
  execFileSync('ip', ['netns', 'del', ns]);
  execFileSync('sh', ['-c', `grep -o '${work}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  rmSync(work, { recursive: true, force: true });
}
