/**
 * bench/run-latency: Berth against podman (runc, its own temporary storage), side by side,
 * inside a network namespace made for the run (so neither tool's bridge touches the host):
 *  1. `run --rm --network none IMG true`, median wall (goal <= 0.6x podman);
 *  2. the same on each tool's default bridge network (goal <= 0.6x);
 *  3. 50 sequential `run -d IMG sleep 600`, then `rm -f` of all: total time;
 *  4. RSS per idle running container attributable to the tool (its conmon processes).
 * Run as root: node --import tsx bench/run-latency.ts [runs=20]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { podmanEnv, podmanStoreArgs } from '../test/helpers/podman.js';
import { have, printRatio, repeat, summarise, timeCommand } from './lib/measure.js';

const runs = Number(process.argv[2] ?? 20);
const berthBin = resolve(import.meta.dirname, '..', 'bin', 'berth');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-run-'));
const ns = `berth-bench-${process.pid}`;
const nsenter = ['nsenter', `--net=/run/netns/${ns}`];
const env = podmanEnv(work);
const B = ['--root', join(work, 'b-root'), '--runroot', join(work, 'b-run')];
const P = podmanStoreArgs(join(work, 'p-root'), join(work, 'p-run'));
const berth = (args: string[]) => [...nsenter, berthBin, ...B, ...args];
const podman = (args: string[]) => [...nsenter, 'podman', ...P, ...args];
const sh = (argv: string[]) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
};
const time = (argv: string[]) => timeCommand(argv[0]!, argv.slice(1), env);
const med = (v: number[]) => summarise(v).median;
/**
 * The peer's times, or none when one of its runs fails (podman's bridge network needs
 * netavark or CNI set up for podman): the failure is printed and Berth's figures go on.
 */
const peerTimes = (fn: () => number): number[] => {
  try {
    return repeat(runs, 3, fn);
  } catch (e) {
    console.log(`podman failed, not measured: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return [];
  }
};

/** Sum of VmRSS (kB) of conmon processes whose command line mentions `marker`. */
function conmonRss(marker: string): number {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('conmon') && !cmd.includes('/conmon\0')) continue;
      if (!cmd.includes(marker)) continue;
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb;
}

const podmanOk = have('podman');
sh(['ip', 'netns', 'add', ns]);
try {
  sh([...nsenter, 'ip', 'link', 'set', 'lo', 'up']);
  const tar = await busyboxRootfsTar();
  sh(berth(['import', tar, 'bb:bench']));
  if (podmanOk) sh(podman(['import', tar, 'localhost/bb:bench']));
  const img = { berth: 'bb:bench', podman: 'localhost/bb:bench' };

  console.log(`bench/run-latency: ${runs} runs each after 3 warm-ups, medians`);
  for (const net of ['none', 'bridge']) {
    const b = repeat(runs, 3, () => time(berth(['run', '--rm', '--network', net, img.berth, 'true'])));
    const p = podmanOk
      ? peerTimes(() => time(podman(['run', '--rm', '--network', net, img.podman, 'true'])))
      : [];
    printRatio(
      `run --rm --network ${net} IMG true`,
      med(b),
      'podman',
      p.length ? med(p) : undefined,
      '<= 0.6x',
    );
  }

  const fifty = (tool: (a: string[]) => string[], image: string) => {
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++)
      ids.push(sh(tool(['run', '-d', '--network', 'none', image, 'sleep', '600'])).trim());
    sh(tool(['rm', '-f', ...ids]));
    return performance.now() - t0;
  };
  printRatio(
    '50 x run -d, then rm -f all (total)',
    fifty(berth, img.berth),
    'podman',
    podmanOk ? fifty(podman, img.podman) : undefined,
  );

  const idle = (tool: (a: string[]) => string[], image: string, marker: string) => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(sh(tool(['run', '-d', '--network', 'none', image, 'sleep', '600'])).trim());
    spawnSync('sleep', ['1']);
    const kb = conmonRss(marker) / 10;
    sh(tool(['rm', '-f', ...ids]));
    return kb;
  };
  const bKb = idle(berth, img.berth, join(work, 'b-run'));
  const pKb = podmanOk ? idle(podman, img.podman, join(work, 'p-run')) : undefined;
  console.log(
    `RSS per idle container (conmon): berth ${(bKb / 1024).toFixed(1)} MB${pKb !== undefined ? `, podman ${(pKb / 1024).toFixed(1)} MB, ratio ${(bKb / pKb).toFixed(2)}x` : ''}`,
  );
} finally {
  spawnSync('sh', ['-c', `for p in $(ip netns pids ${ns}); do kill -9 $p; done`]);
  if (podmanOk) spawnSync('podman', [...P, 'system', 'reset', '-f'], { env, stdio: 'ignore' });
  spawnSync('sh', ['-c', `grep -o " ${work}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  spawnSync('ip', ['netns', 'delete', ns]);
  rmSync(work, { recursive: true, force: true });
}
