import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';
import { forward, podTarget, serviceTarget, splitSchemeNamePort } from './resource-proxy.js';

test('proxy names split into scheme, name and port as upstream', () => {
  assert.deepEqual(splitSchemeNamePort('web'), { scheme: '', name: 'web', port: '' });
  assert.deepEqual(splitSchemeNamePort('web:http'), { scheme: '', name: 'web', port: 'http' });
  assert.deepEqual(splitSchemeNamePort('https:web:443'), { scheme: 'https', name: 'web', port: '443' });
  assert.throws(() => splitSchemeNamePort('a:b:c:d'), /invalid service request/);
});

test('a service port by name or number leads to a ready endpoint; none is a 503', () => {
  const svc = {
    metadata: { name: 'web' },
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'admin', port: 9000 },
      ],
    },
  } as KubeObject;
  const eps = {
    metadata: { name: 'web' },
    subsets: [
      {
        addresses: [{ ip: '10.42.0.7' }],
        ports: [
          { name: 'http', port: 8080 },
          { name: 'admin', port: 9090 },
        ],
      },
    ],
  } as KubeObject;
  assert.deepEqual(serviceTarget(svc, eps, '', '80'), { scheme: 'http', host: '10.42.0.7', port: 8080 });
  assert.deepEqual(serviceTarget(svc, eps, 'https', 'admin'), {
    scheme: 'https',
    host: '10.42.0.7',
    port: 9090,
  });
  assert.throws(() => serviceTarget(svc, undefined, '', 'http'), /no endpoints available for service "web"/);
  const pod = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', ports: [{ name: 'metrics', containerPort: 9100 }] }] },
    status: { podIP: '10.42.0.9' },
  } as KubeObject;
  assert.deepEqual(podTarget(pod, '', 'metrics'), { scheme: 'http', host: '10.42.0.9', port: 9100 });
  assert.equal(podTarget(pod, '', '').port, 80);
});

test("a target that cannot be reached is upstream's 503, for the handler to write as a Status", async () => {
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const req = Object.assign(new PassThrough(), { headers: {}, method: 'GET' });
  req.end();
  const res = { headersSent: false } as ServerResponse;
  await assert.rejects(
    forward({ scheme: 'http', host: '127.0.0.1', port }, '/', '', req as unknown as IncomingMessage, res),
    (e: unknown) =>
      e instanceof ApiError &&
      e.httpCode === 503 &&
      e.reason === 'ServiceUnavailable' &&
      /^error trying to reach service: .*ECONNREFUSED/.test(e.message),
  );
});

test('hop-by-hop headers, those Connection names and the credentials are not forwarded, either way', async (t) => {
  let seen: IncomingMessage['headers'] = {};
  const backend = http.createServer((req, res) => {
    seen = req.headers;
    res.writeHead(200, { connection: 'x-back-hop', 'x-back-hop': '1', 'x-back-end': '2', trailer: 'x-sum' });
    res.end('ok');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.after(() => backend.close());
  const port = (backend.address() as { port: number }).port;
  const req = Object.assign(new PassThrough(), {
    method: 'GET',
    headers: {
      connection: 'x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      authorization: 'Bearer secret',
      'x-end': '2',
    },
  });
  req.end();
  let head: Record<string, unknown> = {};
  const res = Object.assign(new PassThrough(), {
    writeHead: (_status: number, h: Record<string, unknown>) => {
      head = h;
    },
  });
  res.resume();
  await forward(
    { scheme: 'http', host: '127.0.0.1', port },
    '/',
    '',
    req as unknown as IncomingMessage,
    res as unknown as ServerResponse,
  );
  assert.equal(seen['x-end'], '2');
  for (const h of ['x-hop', 'keep-alive', 'proxy-connection', 'te', 'authorization'])
    assert.equal(seen[h], undefined, `${h} was forwarded`);
  assert.equal(head['x-back-end'], '2');
  for (const h of ['connection', 'x-back-hop', 'trailer', 'transfer-encoding'])
    assert.equal(head[h], undefined, `${h} came back`);
});
