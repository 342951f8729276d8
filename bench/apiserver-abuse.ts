/**
 * bench/apiserver-abuse: how long other requests wait while the API server works on a hostile
 * one. /healthz is polled back to back, first idle, then while each attack runs: a 469 KB
 * strategic merge patch of thousands of keyed list items (a Deployment container's env), and a JSON
 * patch "copy bomb" of under 2 KB whose copies double a list, and a 2.9 MB YAML body (the
 * yaml parser takes seconds over it). Prints each attack's answer
 * and time, and /healthz latency idle and during it. Never asserts.
 * Run as root from the repository: node --import tsx bench/apiserver-abuse.ts [berth binary=bin/berth]
 * (pass another checkout's bin/berth to compare before and after a change).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { percentile } from './lib/measure.js';
import { freePort, waitFor } from './lib/process.js';

const berth = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'bin', 'berth'));
const work = mkdtempSync(join(tmpdir(), 'berth-bench-abuse-'));
const port = await freePort();
const server = spawn(
  berth,
  [
    ...['server', '--data-dir', join(work, 'server'), '--https-listen-port', String(port)],
    ...['--disable-agent', '--controllers='],
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);

const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
let ca = '';
let token = '';

/** One request; resolves with the status code and the time it took. */
function call(method: string, path: string, body?: string, type = 'application/json') {
  return new Promise<{ code: number; ms: number; text: string }>((res, rej) => {
    const t0 = performance.now();
    const req = https.request(
      `https://127.0.0.1:${port}${path}`,
      { method, agent, ca, headers: { authorization: `Bearer ${token}`, 'content-type': type } },
      (r) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d.toString()));
        r.on('end', () => res({ code: r.statusCode ?? 0, ms: performance.now() - t0, text }));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

/** Polls /healthz back to back until `until` settles (or for `ms` when idle); returns latencies. */
async function pollHealth(until: Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  let done = false;
  void until.finally(() => {
    done = true;
  });
  while (!done) lat.push((await call('GET', '/healthz')).ms);
  return lat;
}

const fmt = (v: number[]) =>
  `p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms, max ${Math.max(...v).toFixed(0)} ms (n=${v.length})`;

async function attack(label: string, run: () => Promise<{ code: number; ms: number; text: string }>) {
  const req = run();
  const lat = await pollHealth(req);
  const r = await req;
  const reason = /"reason":"(\w+)"/.exec(r.text)?.[1];
  console.log(`${label}: answered ${r.code}${reason ? ` ${reason}` : ''} in ${r.ms.toFixed(0)} ms`);
  if (r.code >= 300) console.log(`  ${r.text.slice(0, 400)}`);
  console.log(`  /healthz meanwhile: ${fmt(lat)}`);
}

try {
  await waitFor(server, /cluster is ready/);
  const tls = join(work, 'server', 'tls');
  ca = readFileSync(join(tls, 'ca.crt'), 'utf8');
  token = readFileSync(join(tls, 'admin-token'), 'utf8').trim();
  console.log(`berth: ${berth}`);
  const idle = await pollHealth(new Promise((r) => setTimeout(r, 2000)));
  console.log(`/healthz idle: ${fmt(idle)}`);

  // A Deployment whose one container has n env items; the patch names all of them, in reverse order.
  const n = 7200;
  const env = (value: string) => Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value }));
  const deployments = '/apis/apps/v1/namespaces/default/deployments';
  const labels = { app: 'many-env' };
  const deployment = {
    metadata: { name: 'many-env' },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'i:1', env: env('a') }] } },
    },
  };
  const created = await call('POST', deployments, JSON.stringify(deployment));
  if (created.code !== 201)
    throw new Error(`creating the deployment: ${created.code} ${created.text.slice(0, 300)}`);
  const items = env('bbbbbbbbbbbbbbbb').reverse();
  const smp = JSON.stringify({
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'c' }],
          containers: [
            { name: 'c', '$setElementOrder/env': items.map((e) => ({ name: e.name })), env: items },
          ],
        },
      },
    },
  });
  await attack(`strategic merge patch, ${n} env items, ${(smp.length / 1024).toFixed(0)} KB`, () =>
    call('PATCH', `${deployments}/many-env`, smp, 'application/strategic-merge-patch+json'),
  );

  const cms = '/api/v1/namespaces/default/configmaps';
  await call('POST', cms, JSON.stringify({ metadata: { name: 'bomb' } }));
  const bomb = JSON.stringify([
    { op: 'add', path: '/metadata/annotations', value: { l: '' } },
    { op: 'add', path: '/data', value: { l: ['x'.repeat(64)] } },
    ...Array.from({ length: 20 }, () => ({ op: 'copy', from: '/data/l', path: '/data/l/-' })),
  ]);
  await attack(`JSON patch copy bomb, ${bomb.length} bytes, 20 doubling copies`, () =>
    call('PATCH', `${cms}/bomb`, bomb, 'application/json-patch+json'),
  );
  const lines = Array.from({ length: 36_000 }, (_, i) => `  k${i}: "${'v'.repeat(64)}"`).join('\n');
  const yaml = `metadata:\n  name: yaml-big\ndata:\n${lines}\n`;
  await attack(`YAML ConfigMap body, ${(yaml.length / 1024 / 1024).toFixed(1)} MB`, () =>
    call('POST', cms, yaml, 'application/yaml'),
  );
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0);
  console.log(`server RSS after: ${(rss / 1024).toFixed(0)} MB`);
} finally {
  agent.destroy();
  server.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
