import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createServer as createH2 } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { SessionStreams } from '../runtime.js';
import { runAction } from './run-action.js';

const target = { containerId: 'c1', podIP: '127.0.0.1', runtime: {} };

test('httpGet succeeds on 2xx and 3xx, fails on 4xx and 5xx, and sends its headers', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(String(req.headers['x-probe']));
    res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 503;
    res.end();
  }).listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const get = (path: string) =>
    runAction(
      { type: 'http', scheme: 'HTTP', port, path, headers: [{ name: 'X-Probe', value: 'yes' }] },
      target,
      1000,
    );
  assert.deepEqual(await get('/ok'), { ok: true, output: '' });
  assert.equal((await get('/moved')).ok, true);
  assert.deepEqual(await get('/bad'), { ok: false, output: 'HTTP probe failed with statuscode: 503' });
  assert.deepEqual(seen, ['yes', 'yes', 'yes']);
});

test('tcpSocket succeeds when the port accepts and names the address when it does not', async (t) => {
  const server = createServer().listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  assert.equal((await runAction({ type: 'tcp', port }, target, 1000)).ok, true);
  server.close();
  await once(server, 'close');
  const r = await runAction({ type: 'tcp', port }, target, 1000);
  assert.equal(r.ok, false);
  assert.match(r.output, new RegExp(`dial tcp 127.0.0.1:${port}: .*ECONNREFUSED`));
});

test('grpc asks grpc.health.v1.Health/Check for the service and reads SERVING or another status', async (t) => {
  const services: Record<string, number> = { '': 1, db: 2 };
  const server = createH2((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => {
      const msg = Buffer.concat(body).subarray(5);
      const name = msg.length ? msg.subarray(2).toString() : '';
      assert.equal(req.url, '/grpc.health.v1.Health/Check');
      res.writeHead(200, { 'content-type': 'application/grpc' });
      const status = services[name] ?? 3;
      res.addTrailers({ 'grpc-status': '0' });
      res.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
    });
  }).listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  assert.deepEqual(await runAction({ type: 'grpc', port, service: '' }, target, 2000), {
    ok: true,
    output: '',
  });
  assert.deepEqual(await runAction({ type: 'grpc', port, service: 'db' }, target, 2000), {
    ok: false,
    output: 'service unhealthy (responded with "NOT_SERVING")',
  });
});

test('exec reports the command output and exit status through the runtime hook', async () => {
  const runtime = {
    async exec(_id: string, cmd: string[], io: SessionStreams) {
      io.stdout?.write(`ran ${cmd.join(' ')}\n`);
      return cmd[0] === 'true' ? 0 : 1;
    },
  };
  assert.deepEqual(await runAction({ type: 'exec', command: ['true'] }, { ...target, runtime }, 1000), {
    ok: true,
    output: 'ran true\n',
  });
  assert.deepEqual(await runAction({ type: 'exec', command: ['false'] }, { ...target, runtime }, 1000), {
    ok: false,
    output: 'ran false\n',
  });
});
