// The helper processes on the loopback: they serve the routes, endpoints and certificates the
// controller sends them (and every later change), a killed one is replaced, a port in use is
// refused, and none outlives its parent, even one killed by SIGKILL. Only helpers accept on
// the sockets (listen-handle.ts), so every request here is a helper's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { alive } from '../../../test/helpers/process.js';
import { until } from '../../../test/helpers/until.js';
import type { KubeObject } from '../client/kube-client.js';
import { RoundRobin } from './backends.js';
import { CertStore, selfSignedCertificate, tlsOptions } from './certs.js';
import { helperAffinity } from './cpu-affinity.js';
import { helperEntry, IngressHelpers } from './helpers.js';
import { bindListener } from './listen-handle.js';
import { routeTable } from './routes.js';
import { type IngressSnapshot, takeSnapshot } from './snapshot.js';

const ingress = (secretName?: string): KubeObject => ({
  metadata: { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    ...(secretName ? { tls: [{ hosts: ['a.test'], secretName }] } : {}),
    rules: [
      {
        host: 'a.test',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
});

const tlsSecret = (version: string, c: { cert: string; key: string }): KubeObject => ({
  metadata: { name: 'web-tls', namespace: 'default', uid: 's1', resourceVersion: version },
  type: 'kubernetes.io/tls',
  data: {
    'tls.crt': Buffer.from(c.cert).toString('base64'),
    'tls.key': Buffer.from(c.key).toString('base64'),
  },
});

/** A backend answering its own name. */
async function backend(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((_req, res) => res.end(name));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // A connection per request: each may land on any helper.
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

function certName(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(String(s.getPeerCertificate().subject.CN));
      s.end();
    });
    s.on('error', reject);
  });
}

const entry = helperEntry(import.meta.url);
const defaultCertificate = selfSignedCertificate('default.test');
/** Two helpers pinned to a CPU each, as the agent starts them where it can (cpu-affinity.ts). */
const affinity = helperAffinity(2);
const pinned = 'why' in affinity ? undefined : affinity;
/** The CPUs a process may run on, as the kernel lists them. */
const cpusOf = (pid: number) =>
  /\nCpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

describe('ingress helper processes', () => {
  const certA = selfSignedCertificate('a.test');
  const certB = selfSignedCertificate('b.test');
  const store = new CertStore(tls.createSecureContext({ ...tlsOptions, ...defaultCertificate }));
  let version = 0;
  let a: { server: http.Server; port: number };
  let b: { server: http.Server; port: number };
  let helpers: IngressHelpers;
  let ports: { httpPort: number; httpsPort: number };
  /** The versions each helper has applied. */
  const applied = new Map<number, number>();

  /** The snapshot of one Ingress (with its TLS Secret, if any) routed to `to`'s port. */
  const snapshot = (to: number, secret?: KubeObject): IngressSnapshot => {
    const ing = ingress(secret ? 'web-tls' : undefined);
    store.update([ing], () => secret);
    return takeSnapshot(
      ++version,
      routeTable([ing]).table,
      () => new RoundRobin([{ host: '127.0.0.1', port: to }]),
      store.bindings(),
    );
  };

  /** Sends a snapshot and waits until every helper running serves it. */
  const update = async (s: IngressSnapshot) => {
    helpers.update(s);
    await until(`every helper applied version ${s.version}`, async () =>
      helpers.pids().every((p) => applied.get(p) === s.version),
    );
  };

  before(async () => {
    assert.ok(entry, 'the helper entry is beside helpers.ts');
    a = await backend('A');
    b = await backend('B');
    helpers = new IngressHelpers({
      count: 2,
      handles: { http: bindListener('127.0.0.1', 0), https: bindListener('127.0.0.1', 0) },
      httpPort: 0,
      httpsPort: 0,
      defaultCertificate,
      logLevel: 'warn',
      entry,
      ...(pinned ? { affinity: pinned } : {}),
    });
    helpers.on('applied', (pid: number, v: number) => applied.set(pid, v));
    helpers.update(snapshot(a.port));
    ports = await helpers.start();
    await until('both helpers serving', async () => helpers.pids().length === 2);
  });

  after(async () => {
    await helpers?.stop();
    a?.server.close();
    b?.server.close();
  });

  test('routes and endpoints reach every helper, and each change after', async () => {
    assert.equal(await get(ports.httpPort, 'a.test'), 'A');
    await update(snapshot(b.port));
    for (let i = 0; i < 8; i++) assert.equal(await get(ports.httpPort, 'a.test'), 'B');
    assert.match(await get(ports.httpPort, 'other.test'), /^404/);
  });

  test('each helper runs on a CPU of its own', { skip: 'why' in affinity && affinity.why }, () => {
    const cpus = helpers.pids().map(cpusOf).sort();
    assert.deepEqual(cpus, pinned?.cpus.map(String).sort());
  });

  test('certificates reach them, and a changed Secret', async () => {
    await update(snapshot(b.port, tlsSecret('1', certA)));
    for (let i = 0; i < 4; i++) assert.equal(await certName(ports.httpsPort, 'a.test'), 'a.test');
    assert.equal(await certName(ports.httpsPort, 'x.test'), 'default.test');
    await update(snapshot(b.port, tlsSecret('2', certB)));
    for (let i = 0; i < 4; i++) assert.equal(await certName(ports.httpsPort, 'a.test'), 'b.test');
  });

  test('a killed helper is replaced, with the current state', async () => {
    const [victim] = helpers.pids();
    assert.ok(victim);
    const cpu = cpusOf(victim);
    const replaced = new Promise<number>((resolve) =>
      helpers.on('serving', (pid: number) => {
        if (pid !== victim) resolve(pid);
      }),
    );
    process.kill(victim, 'SIGKILL');
    const next = await replaced;
    assert.equal(applied.get(next), version, 'the new helper got the latest snapshot');
    assert.equal(cpusOf(next), cpu, 'the new helper runs where the one it replaces did');
    await until(
      'two helpers again',
      async () => helpers.pids().length === 2 && !helpers.pids().includes(victim),
    );
    for (let i = 0; i < 4; i++) assert.equal(await certName(ports.httpsPort, 'a.test'), 'b.test');
    assert.equal(await get(ports.httpPort, 'a.test'), 'B');
  });

  test('stop ends every helper', async () => {
    const pids = helpers.pids();
    await helpers.stop();
    for (const p of pids) assert.equal(alive(p), false, `helper ${p} exited`);
  });
});

test('a port in use is refused by name', async () => {
  const taken = http.createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as AddressInfo).port;
  assert.ok(entry);
  const h = new IngressHelpers({
    count: 1,
    handles: { http: bindListener('127.0.0.1', port), https: bindListener('127.0.0.1', 0) },
    httpPort: port,
    httpsPort: 0,
    defaultCertificate,
    logLevel: 'error',
    entry,
  });
  h.update({ version: 1, routes: routeTable([]).table.data(), pools: new Map() });
  await assert.rejects(h.start(), new RegExp(`EADDRINUSE: address already in use, port ${port}`));
  taken.close();
});

test('a helper that dies before serving fails the start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingress-helper-'));
  const file = join(dir, 'broken.mjs');
  writeFileSync(file, 'process.exit(3);\n');
  const h = new IngressHelpers({
    count: 2,
    handles: { http: bindListener('127.0.0.1', 0), https: bindListener('127.0.0.1', 0) },
    httpPort: 0,
    httpsPort: 0,
    defaultCertificate,
    logLevel: 'error',
    entry: { file, execArgv: [] },
  });
  try {
    await assert.rejects(h.start(), /an Ingress helper exited before serving \(code 3\)/);
    assert.deepEqual(h.pids(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('helpers end with their parent, even one killed by SIGKILL', async () => {
  // The parent: a process that starts two helpers and prints their pids once both serve.
  const url = (f: string) => JSON.stringify(new URL(f, import.meta.url).href);
  const code = `
    import { IngressHelpers, helperEntry } from ${url('./helpers.ts')};
    import { bindListener } from ${url('./listen-handle.ts')};
    import { routeTable } from ${url('./routes.ts')};
    const h = new IngressHelpers({
      count: 2,
      handles: { http: bindListener('127.0.0.1', 0), https: bindListener('127.0.0.1', 0) },
      httpPort: 0, httpsPort: 0,
      defaultCertificate: JSON.parse(process.env.CERT),
      logLevel: 'warn',
      entry: helperEntry(${url('./helpers.ts')}),
    });
    h.update({ version: 1, routes: routeTable([]).table.data(), pools: new Map() });
    let n = 0;
    h.on('serving', () => { if (++n === 2) console.log(JSON.stringify(h.pids())); });
    await h.start();
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, CERT: JSON.stringify(defaultCertificate) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const pids = JSON.parse(line.toString()) as number[];
    assert.equal(pids.length, 2);
    parent.kill('SIGKILL');
    await until('the helpers gone after their parent', async () => pids.every((p) => !alive(p)));
  } finally {
    parent.kill('SIGKILL');
  }
});
