/**
 * Shared pieces of the benchmarks that run `berth server` with its embedded agent in a network
 * namespace made for the run: the node's address on a veth "wire" whose far end is its default
 * route (what a real node has), the server itself, and an admin client on the API's socket.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KubeClient, type KubeObject } from '../../src/cluster/client/kube-client.js';
import type { Sandbox } from '../../test/helpers/sandbox.js';
import { freePort } from './process.js';

/** A client on the API's local socket with the admin kubeconfig's token (the bench runs outside the namespace). */
export function adminClient(dataDir: string): KubeClient {
  const cfg = parse(readFileSync(join(dataDir, 'kubeconfig.yaml'), 'utf8')) as {
    users: { user: { token?: string } }[];
  };
  const token = cfg.users[0]?.user.token;
  return new KubeClient({
    server: 'http://localhost',
    socketPath: join(dataDir, 'api.sock'),
    ...(token ? { token } : {}),
  });
}

/** The node's address on a wire, as the tests give it (test/helpers/cluster.ts). */
export { wireNode } from '../../test/helpers/cluster.js';

/** Starts `berth server` (embedded agent, node n1) in the sandbox; its data dir is `box.dir`/server. */
export async function spawnServer(
  box: Sandbox,
  nodeIP: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ server: ChildProcess; dataDir: string }> {
  const dataDir = join(box.dir, 'server');
  const server = box.spawn(
    process.execPath,
    [
      '--',
      join(import.meta.dirname, '..', '..', 'bin', 'berth'),
      ...['--root', box.root, '--runroot', box.runroot, 'server', '--data-dir', dataDir],
      ...['--https-listen-port', String(await freePort()), '--node-name', 'n1', '--node-ip', nodeIP],
      ...['--bind-address', '0.0.0.0'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  return { server, dataDir };
}

/**
 * A one-replica Deployment `web` (label app=web) of busybox httpd serving a 4 KiB file `/f` on
 * its port `web` (8080), from the image `busybox:local` the benchmark imports.
 */
export function webDeployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'httpd',
              image: 'busybox:local',
              imagePullPolicy: 'IfNotPresent',
              command: [
                'sh',
                '-c',
                'mkdir /www && head -c 4096 /dev/zero > /www/f && exec httpd -f -p 8080 -h /www',
              ],
              ports: [{ name: 'web', containerPort: 8080 }],
            },
          ],
        },
      },
    },
  };
}

/** Requests per second from `wrk -t2 -c16` against `url` for `seconds`, run in the network namespace of process `pid` (a pod's). */
export function wrkFromPod(pid: number, url: string, seconds: number): number {
  const out = execFileSync(
    'nsenter',
    [`--net=/proc/${pid}/ns/net`, 'wrk', '-t2', '-c16', `-d${seconds}s`, url],
    {
      encoding: 'utf8',
    },
  );
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk printed no rate: ${out}`);
  return Number(m[1]);
}
