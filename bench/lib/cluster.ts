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
import { toolsRootfsTar } from '../../test/helpers/tools-image.js';
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
  /** More flags of `berth server`. */
  flags: readonly string[] = [],
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
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  return { server, dataDir };
}

/**
 * The web pods' server: the host's nginx in a busybox image (test/helpers/tools-image.ts), one
 * process. Not busybox httpd: it listens with a backlog of 9 and forks per connection, so
 * bursts of new connections lost SYNs (a 1 s retransmit) and other load on the machine cut its
 * rate by up to ten times from one run to the next (docs/ingress.md, "Figures").
 * With `keepAlive` nginx keeps connections as it does by default (75 s, 1,000 requests each),
 * as real pods' web servers do, so a proxy that keeps its connections to the pod reuses them.
 * Without it (`keepalive_timeout 0`) the pod closes after each answer, so every request, direct
 * or through a proxy, opens a new connection to the pod: what bench/service and bench/netpol
 * measure (the Service's and the policies' cost falls on new connections).
 */
function nginxConf(keepAlive: boolean): string {
  return [
    'daemon off; master_process off; worker_processes 1; user root root;',
    'pid /tmp/nginx.pid; error_log stderr; events {}',
    `http { access_log off; ${keepAlive ? '' : 'keepalive_timeout 0; '}client_body_temp_path /tmp/body;`,
    'proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fastcgi; uwsgi_temp_path /tmp/uwsgi;',
    'scgi_temp_path /tmp/scgi; server { listen 8080; root /www; } }',
  ].join(' ');
}

/** The web pods' shell command (in `web:local`): nginx serving a 4 KiB file `/f` on port 8080. */
export function webServe(keepAlive: boolean): string {
  return `mkdir /www && head -c 4096 /dev/zero > /www/f && echo '${nginxConf(keepAlive)}' > /tmp/nginx.conf && exec nginx -p /tmp -c /tmp/nginx.conf`;
}

/** The web pods' shell command with keep-alive off: a new connection to the pod per request. */
export const WEB_SERVE = webServe(false);

/**
 * Whether the web pod keeps connections alive, from BENCH_POD_KEEPALIVE (`on` or `off`), else
 * `fallback`. Anything else is refused by name.
 */
export function podKeepAlive(fallback: boolean): boolean {
  const v = process.env.BENCH_POD_KEEPALIVE;
  if (v === undefined || v === '') return fallback;
  if (v === 'on' || v === 'off') return v === 'on';
  throw new Error(`BENCH_POD_KEEPALIVE must be "on" or "off", not "${v}"`);
}

/** Imports the web pods' image `web:local` (busybox and the host's nginx) into the sandbox's store. */
export async function importWebImage(box: Sandbox): Promise<void> {
  const r = await box.berth(['import', await toolsRootfsTar(['/usr/sbin/nginx']), 'web:local']);
  if (r.code !== 0) throw new Error(`Cannot import the web image: ${r.stderr}`);
}

/**
 * A one-replica Deployment `web` (label app=web) of nginx serving a 4 KiB file `/f` on its port
 * `web` (8080), from the image `web:local` (importWebImage); with `keepAlive` nginx keeps
 * connections alive (its default), without it closes each after its answer (webServe).
 */
export function webDeployment(keepAlive = false): KubeObject {
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
              image: 'web:local',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', webServe(keepAlive)],
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
