/**
 * bench/build: `berth build` against `podman build` (Buildah, runc, its own temporary
 * storage), side by side, of the same multi-stage Dockerfile: three RUN steps and a COPY of
 * 300 files. Each round gives each tool a fresh store (the base image imported), then times
 *  1. the uncached build (goal <= 0.8x podman), and
 *  2. the same build again with its cache (goal <= 0.8x podman).
 * RUN steps use `--network none` in both tools, so the figures are the builders' own.
 * `docker build` (the legacy builder) is timed alongside, as a reference, on a private dockerd
 * started inside a network namespace made for the run, when docker.io is installed.
 * Run as root: node --import tsx bench/build.ts [rounds=5]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyboxRootfsTar } from '../test/helpers/busybox-image.js';
import { podmanEnv, podmanStoreArgs } from '../test/helpers/podman.js';
import { type Dockerd, startDockerd } from './lib/dockerd.js';
import { have, printRatio, summarise, timeCommand } from './lib/measure.js';

const rounds = Number(process.argv[2] ?? 5);
const berthBin = resolve(import.meta.dirname, '..', 'bin', 'berth');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
const env = podmanEnv(work);

const ctx = join(work, 'ctx');
mkdirSync(join(ctx, 'files'), { recursive: true });
for (let i = 0; i < 300; i++) writeFileSync(join(ctx, 'files', `f${i}.txt`), `file ${i}\n`.repeat(20));
const dockerfile = (base: string) =>
  [
    `FROM ${base} AS build`,
    'RUN mkdir -p /out && echo built > /out/a',
    'COPY files /src/files',
    'RUN ls /src/files | wc -l > /out/count',
    `FROM ${base}`,
    'COPY --from=build /out /app',
    'RUN cat /app/count',
    'CMD ["cat", "/app/a"]',
  ].join('\n');

const sh = (argv: string[]) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
};
const time = (argv: string[], e: NodeJS.ProcessEnv = env) => timeCommand(argv[0]!, argv.slice(1), e);
const med = (v: number[]) => summarise(v).median;

interface Tool {
  name: string;
  /** Makes a fresh store with the base image; returns the build command. */
  fresh(round: number): string[];
  reset(): void;
  /** The environment its commands run in (the shared one when unset). */
  env?: NodeJS.ProcessEnv;
}

const tar = await busyboxRootfsTar();
const berth: Tool = {
  name: 'berth',
  fresh(round) {
    const B = [berthBin, '--root', join(work, `b-root${round}`), '--runroot', join(work, `b-run${round}`)];
    sh([...B, 'import', tar, 'bb:bench']);
    writeFileSync(join(ctx, 'Dockerfile.berth'), dockerfile('bb:bench'));
    return [
      ...B,
      'build',
      '-q',
      '--network',
      'none',
      '-f',
      join(ctx, 'Dockerfile.berth'),
      '-t',
      'out:1',
      ctx,
    ];
  },
  reset: () => undefined,
};
let podmanArgs: string[] = [];
const podman: Tool = {
  name: 'podman',
  fresh(round) {
    podmanArgs = ['podman', ...podmanStoreArgs(join(work, `p-root${round}`), join(work, `p-run${round}`))];
    sh([...podmanArgs, 'import', tar, 'localhost/bb:bench']);
    writeFileSync(join(ctx, 'Dockerfile.podman'), dockerfile('localhost/bb:bench'));
    return [
      ...podmanArgs,
      'build',
      '-q',
      '--layers',
      '--network',
      'none',
      '-f',
      join(ctx, 'Dockerfile.podman'),
      '-t',
      'out:1',
      ctx,
    ];
  },
  reset() {
    if (podmanArgs.length)
      spawnSync(podmanArgs[0]!, [...podmanArgs.slice(1), 'system', 'reset', '-f'], { env, stdio: 'ignore' });
  },
};
const ns = `berth-bench-build-${process.pid}`;
let dockerd: Dockerd | undefined;
if (have('dockerd') && have('docker')) {
  spawnSync('ip', ['netns', 'add', ns]);
  dockerd = await startDockerd(ns, work).catch((e) => {
    console.log(`dockerd did not start, docker build not measured: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  });
}
const dockerUp = dockerd !== undefined;
const dsh = (cmd: string[]) => {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { env: dockerd?.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
};
const docker: Tool = {
  name: 'docker',
  env: dockerd && { ...dockerd.env, DOCKER_BUILDKIT: '0' },
  fresh(round) {
    dsh(['docker', 'import', tar, `bb:bench-${round}`]);
    writeFileSync(join(ctx, 'Dockerfile.docker'), dockerfile(`bb:bench-${round}`));
    return [
      'docker',
      'build',
      '-q',
      '--network',
      'none',
      '-f',
      join(ctx, 'Dockerfile.docker'),
      '-t',
      `out:${round}`,
      ctx,
    ];
  },
  reset: () => spawnSync('docker', ['builder', 'prune', '-af'], { env: dockerd?.env, stdio: 'ignore' }),
};

const tools = [berth, ...(have('podman') ? [podman] : []), ...(dockerUp ? [docker] : [])];
const cold = new Map<string, number[]>(tools.map((t) => [t.name, []]));
const warm = new Map<string, number[]>(tools.map((t) => [t.name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const tool of tools) {
      try {
        const cmd = tool.fresh(round);
        cold.get(tool.name)!.push(time(cmd, tool.env));
        warm.get(tool.name)!.push(time(cmd, tool.env));
      } catch (e) {
        console.log(`${tool.name} failed, not measured: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        tool.reset();
      }
    }
  }
  console.log(`bench/build: ${rounds} rounds, fresh store each round, medians`);
  const fig = (m: Map<string, number[]>, name: string) => {
    const v = m.get(name) ?? [];
    return v.length ? med(v) : undefined;
  };
  printRatio('build, no cache', fig(cold, 'berth')!, 'podman', fig(cold, 'podman'), '<= 0.8x');
  printRatio('build, cached rebuild', fig(warm, 'berth')!, 'podman', fig(warm, 'podman'), '<= 0.8x');
  if (dockerUp) {
    printRatio('build, no cache', fig(cold, 'berth')!, 'docker', fig(cold, 'docker'));
    printRatio('build, cached rebuild', fig(warm, 'berth')!, 'docker', fig(warm, 'docker'));
  } else console.log('docker build: no dockerd answering, not measured');
} finally {
  if (dockerd) {
    dockerd.child.kill('SIGTERM');
    await new Promise((r) => dockerd?.child.once('exit', r));
  }
  spawnSync('sh', ['-c', `for p in $(ip netns pids ${ns} 2>/dev/null); do kill -9 $p; done`]);
  spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
  spawnSync('sh', ['-c', `grep -o " ${work}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  rmSync(work, { recursive: true, force: true });
}
