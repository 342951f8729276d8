/**
 * `berth system service` started in a sandbox (its stores, its network namespace when it
 * has one), and the docker CLI pointed at it: what the Docker API tests share.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { run } from '../../src/core/exec.js';
import { importBusybox } from './busybox-image.js';
import { berthBin, type Sandbox, sandbox } from './sandbox.js';

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

/**
 * Starts the service in `box` (on a socket in `box.dir`, or at `o.uri` with `o.args` such as
 * the --tls* flags); resolves once it accepts connections. `sock` is then the address the
 * service reported (`tcp://127.0.0.1:PORT` for a TCP port 0).
 */
export async function startDockerService(
  box: Sandbox,
  o: { uri?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<DockerService> {
  const uri = o.uri ?? `unix://${join(box.dir, 'docker.sock')}`;
  const service = box.spawn(berthBin, [
    '--root',
    box.root,
    '--runroot',
    box.runroot,
    'system',
    'service',
    uri,
    ...(o.args ?? []),
  ]);
  // The service says where it accepts connections once it does.
  const at = await new Promise<string>((resolve, reject) => {
    let err = '';
    service.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /Serving the Docker API on (\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    service.once('exit', (code) => reject(new Error(`service exited with ${code}: ${err}`)));
  });
  const sock = at.replace(/^unix:\/\//, '');
  const env = {
    ...process.env,
    DOCKER_HOST: at,
    DOCKER_CONFIG: join(box.dir, 'docker-config'),
    ...(o.env ?? {}),
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

/**
 * What the Docker API tests share: a sandbox with a network namespace of its own (containers
 * default to the bridge network), busybox imported as `image`, and the service on a socket in it.
 * The caller cleans the sandbox up; one that fails on the way is cleaned up here.
 */
export async function dockerServiceSandbox(image: string): Promise<{ box: Sandbox; svc: DockerService }> {
  const box = await sandbox(undefined, { netns: true });
  try {
    await importBusybox(box, image);
    return { box, svc: await startDockerService(box) };
  } catch (e) {
    await box.cleanup();
    throw e;
  }
}

/** One Docker API request over the unix socket `sock`: the status and the parsed JSON body. */
export function apiCall(
  sock: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: sock, method, path: `/v1.45${path}`, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A request that upgrades to a raw stream (attach, exec start), as the docker CLI makes it. */
export function apiHijack(
  sock: string,
  path: string,
  body: unknown,
): Promise<{ socket: Duplex; output: () => string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath: sock,
      method: 'POST',
      path: `/v1.45${path}`,
      headers: { 'Content-Type': 'application/json', Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    req.on('upgrade', (_res, socket: Duplex, head: Buffer) => {
      let out = head.toString();
      socket.on('data', (d: Buffer) => {
        out += d.toString();
      });
      // A reset after the test destroys the socket is not the test's failure; it shows in the output.
      socket.on('error', (e) => {
        out += `\n[connection error: ${e.message}]`;
      });
      resolve({ socket, output: () => out });
    });
    req.on('response', (res) => reject(new Error(`expected an upgrade, got ${res.statusCode}`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
