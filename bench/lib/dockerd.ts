/**
 * A private dockerd for a benchmark: inside the benchmark's network namespace (its bridge and
 * firewall rules stay there, never on the host), with its own data root and socket.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnLogged } from './process.js';

export interface Dockerd {
  child: ChildProcess;
  socket: string;
  /** The environment for the docker CLI to talk to it (and keep its config out of ~/.docker). */
  env: NodeJS.ProcessEnv;
}

export async function startDockerd(netns: string, work: string): Promise<Dockerd> {
  const socket = join(work, 'dockerd.sock');
  // Its log goes to WORK/dockerd.log: unread in a pipe, it stalled dockerd mid-benchmark
  // (`docker rm -f` of 50 containers hung for minutes).
  const child = await spawnLogged(
    'nsenter',
    [
      `--net=/run/netns/${netns}`,
      'dockerd',
      '--data-root',
      join(work, 'd-root'),
      '--exec-root',
      join(work, 'd-exec'),
      '--pidfile',
      join(work, 'dockerd.pid'),
      '--host',
      `unix://${socket}`,
      // This machine's root cannot raise RLIMIT_NOFILE to dockerd's default.
      '--default-ulimit',
      'nofile=20000:20000',
    ],
    join(work, 'dockerd.log'),
    /API listen on/,
  );
  return {
    child,
    socket,
    env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(work, 'docker-cfg') },
  };
}
