/**
 * A private dockerd for a benchmark: inside the benchmark's network namespace (its bridge and
 * firewall rules stay there, never on the host), with its own data root and socket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './process.js';

export interface Dockerd {
  child: ChildProcess;
  socket: string;
  /** The environment for the docker CLI to talk to it (and keep its config out of ~/.docker). */
  env: NodeJS.ProcessEnv;
}

export async function startDockerd(netns: string, work: string): Promise<Dockerd> {
  const socket = join(work, 'dockerd.sock');
  const child = spawn('nsenter', [
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
  ]);
  await waitFor(child, /API listen on/);
  return {
    child,
    socket,
    env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(work, 'docker-cfg') },
  };
}
