/**
 * `berth system service` started in a sandbox (its stores, its network namespace when it
 * has one), and the docker CLI pointed at it: what the Docker API tests share.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/core/exec.js';
import { berthBin, type Sandbox } from './sandbox.js';

export const haveDocker = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'docker')));

/** A running service: its socket, and the docker CLI against it. */
export interface DockerService {
  sock: string;
  /** The environment that points clients at the service. */
  env: NodeJS.ProcessEnv;
  docker(args: string[], input?: string): ReturnType<typeof run>;
  /** `docker ARGS` that must succeed; its stdout. */
  ok(args: string[], input?: string): Promise<string>;
}

/** Starts the service on a socket in `box.dir`; resolves once it accepts connections. */
export async function startDockerService(box: Sandbox): Promise<DockerService> {
  const sock = join(box.dir, 'docker.sock');
  const service = box.spawn(berthBin, [
    '--root',
    box.root,
    '--runroot',
    box.runroot,
    'system',
    'service',
    `unix://${sock}`,
  ]);
  // The service says when its socket accepts connections.
  await new Promise<void>((resolve, reject) => {
    let err = '';
    service.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Serving the Docker API')) resolve();
    });
    service.once('exit', (code) => reject(new Error(`service exited with ${code}: ${err}`)));
  });
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${sock}`,
    DOCKER_CONFIG: join(box.dir, 'docker-config'),
  };
  const docker = (args: string[], input?: string) =>
    run('docker', args, { check: false, env, ...(input === undefined ? {} : { input }) });
  return {
    sock,
    env,
    docker,
    ok: async (args, input) => {
      const r = await docker(args, input);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
  };
}
