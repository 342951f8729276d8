/**
 * bench/docker-api: the same docker CLI against Berth's Docker API socket and against dockerd,
 * side by side, both inside a network namespace made for the run (dockerd's bridge and
 * firewall rules stay there):
 *  1. `docker run --rm --network none IMG true`, median wall (goal <= 0.6x dockerd);
 *  2. `docker ps` with 50 running containers, median wall;
 *  3. idle RSS: the `berth system service` process against dockerd + its containerd.
 * Without dockerd (scripts/install-bench-deps installs docker.io) Berth is measured alone.
 * Run as root: node --import tsx bench/docker-api.ts [runs=20]
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { startDockerd } from './lib/dockerd.js';
import { have, printRatio, repeat, summarise, timeCommand } from './lib/measure.js';
import { spawnLogged } from './lib/process.js';

const runs = Number(process.argv[2] ?? 20);
const berthBin = resolve(import.meta.dirname, '..', 'bin', 'berth');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-dapi-'));
const ns = `berth-bench-${process.pid}`;
const nsenter = ['nsenter', `--net=/run/netns/${ns}`];
const sockets = { berth: join(work, 'berth.sock'), dockerd: join(work, 'dockerd.sock') };
// startDockerd puts its socket at WORK/dockerd.sock.
const dockerEnv = (sock: string) => ({
  ...process.env,
  DOCKER_HOST: `unix://${sock}`,
  DOCKER_CONFIG: join(work, 'cfg'),
});
const sh = (argv: string[], env = process.env) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
};
const rssKb = (pid: number | undefined) => {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
};
/** The pids of `name` processes whose command line mentions `marker`. */
const pidsOf = (name: string, marker: string) =>
  sh(['pgrep', '-f', `${name}.*${marker}`])
    .split('\n')
    .filter(Boolean)
    .map(Number);

const children: ChildProcess[] = [];
const dockerdOk = have('dockerd');
sh(['ip', 'netns', 'add', ns]);
try {
  sh([...nsenter, 'ip', 'link', 'set', 'lo', 'up']);
  const tar = await busyboxRootfsTar();
  const B = ['--root', join(work, 'b-root'), '--runroot', join(work, 'b-run')];
  sh([berthBin, ...B, 'import', tar, 'bb:bench']);
  // Output to a file, as dockerd's: the benchmark blocks in spawnSync and reads no pipe meanwhile.
  const service = await spawnLogged(
    nsenter[0]!,
    [...nsenter.slice(1), berthBin, ...B, 'system', 'service', `unix://${sockets.berth}`],
    join(work, 'berth-service.log'),
    /Serving the Docker API/,
  );
  children.push(service);
  if (dockerdOk) {
    const d = await startDockerd(ns, work);
    children.push(d.child);
    sh(['docker', 'import', tar, 'bb:bench'], dockerEnv(sockets.dockerd));
  }

  const runOnce = (sock: string) => () =>
    timeCommand('docker', ['run', '--rm', '--network', 'none', 'bb:bench', 'true'], dockerEnv(sock));
  console.log(`bench/docker-api: ${runs} runs each after 3 warm-ups, medians`);
  const b = repeat(runs, 3, runOnce(sockets.berth));
  const d = dockerdOk ? repeat(runs, 3, runOnce(sockets.dockerd)) : [];
  printRatio(
    'docker run --rm --network none IMG true',
    summarise(b).median,
    'dockerd',
    d.length ? summarise(d).median : undefined,
    '<= 0.6x',
  );

  // `docker ps` with 50 running containers.
  const withFifty = (sock: string, who: string) => {
    const env = dockerEnv(sock);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++)
      ids.push(sh(['docker', 'run', '-d', '--network', 'none', 'bb:bench', 'sleep', '600'], env).trim());
    try {
      return summarise(repeat(runs, 3, () => timeCommand('docker', ['ps'], env))).median;
    } finally {
      // dockerd's `rm -f` of 50 containers hung here while its log sat in an unread pipe
      // (now a file): still bounded, and not fatal (the namespace and its processes are
      // removed at the end anyway).
      const rm = spawnSync('timeout', ['120', 'docker', 'rm', '-f', ...ids], { env, stdio: 'ignore' });
      if (rm.status !== 0)
        console.log(`(${who}: docker rm -f of the 50 containers failed or timed out: ${rm.status})`);
    }
  };
  const psBerth = withFifty(sockets.berth, 'berth');
  console.log(`docker ps with 50 containers: berth ${psBerth.toFixed(0)} ms (dockerd next)`);
  printRatio(
    'docker ps with 50 containers',
    psBerth,
    'dockerd',
    dockerdOk ? withFifty(sockets.dockerd, 'dockerd') : undefined,
  );

  const berthKb = pidsOf('berth', 'system service').reduce((a, p) => a + rssKb(p), 0);
  const dockerdKb = dockerdOk
    ? [...pidsOf('dockerd', work), ...pidsOf('containerd', join(work, 'd-exec'))].reduce(
        (a, p) => a + rssKb(p),
        0,
      )
    : undefined;
  console.log(
    `idle RSS: berth system service ${(berthKb / 1024).toFixed(0)} MB${dockerdKb !== undefined ? `, dockerd + containerd ${(dockerdKb / 1024).toFixed(0)} MB` : '; dockerd: not installed'}`,
  );
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2000));
  spawnSync('sh', ['-c', `for p in $(ip netns pids ${ns}); do kill -9 $p; done`]);
  spawnSync('sh', ['-c', `grep -o " ${work}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  spawnSync('ip', ['netns', 'delete', ns]);
  rmSync(work, { recursive: true, force: true });
}
