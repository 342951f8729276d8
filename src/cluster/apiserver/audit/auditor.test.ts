import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { AuditLog } from './audit-log.js';
import { Auditor } from './auditor.js';
import type { Policy } from './policy.js';

const policy: Policy = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  rules: [
    { level: 'Metadata', resources: [{ group: '', resources: ['secrets'] }] },
    {
      level: 'RequestResponse',
      resources: [{ group: '', resources: ['configmaps'] }],
      omitManagedFields: true,
    },
    { level: 'None' },
  ],
};

interface Event {
  stage: string;
  level: string;
  verb: string;
  auditID: string;
  requestObject?: unknown;
  responseObject?: unknown;
  responseStatus?: { code: number; reason?: string };
  objectRef?: { name?: string };
}

/** A server whose handler tells the auditor what the API handler would, then answers `answer`. */
async function serve(t: { after(fn: () => void): void }) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).trim().split('\n'));
      cb();
    },
  });
  const log = new AuditLog({ target: { stream: sink } });
  const auditor = new Auditor(policy, log);
  const handler = auditor.wrap(async (req: IncomingMessage, res: ServerResponse) => {
    const [, resource = '', name] = (req.url ?? '').split('/');
    const watch = name === 'watch';
    const verb = watch ? 'watch' : req.method === 'POST' ? 'create' : 'get';
    const user = { name: 'admin', groups: ['system:masters'] };
    auditor.attributes(req, {
      user,
      verb,
      path: req.url ?? '/',
      resource: { group: '', version: 'v1', resource, ...(watch || !name ? {} : { name }) },
    });
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      auditor.requestObject(req, JSON.parse(Buffer.concat(chunks).toString()));
    }
    const body =
      name === 'missing'
        ? { kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'not found', code: 404 }
        : {
            kind: 'X',
            metadata: { name: 'x', managedFields: [{ manager: 'm' }] },
            data: { password: 'aHVudGVy' },
          };
    res.writeHead(name === 'missing' ? 404 : 200, { 'Content-Type': 'application/json' });
    if (watch) res.write('{}\n');
    res.end(JSON.stringify(body));
  });
  let closed = 0;
  const closeWaiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    void handler(req, res);
    // Registered after the auditor's own listener, so it runs once ResponseComplete is queued.
    res.once('close', () => {
      closed++;
      for (const w of closeWaiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  let calls = 0;
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<void>((resolve, reject) => {
      calls++;
      const req = request({ port, path, method, headers: { 'user-agent': 'test' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const events = async () => {
    // ResponseComplete is written when the server closes the response, which may follow the client's end.
    while (closed < calls) await new Promise<void>((r) => closeWaiters.push(r));
    await log.flush();
    return lines.map((l) => JSON.parse(l) as Event);
  };
  return { call, events };
}

test('Metadata: stages, no objects, so a Secret read leaves no data in the log', async (t) => {
  const { call, events } = await serve(t);
  await call('GET', '/secrets/s1');
  const ev = await events();
  assert.deepEqual(
    ev.map((e) => [e.stage, e.level, e.verb]),
    [
      ['RequestReceived', 'Metadata', 'get'],
      ['ResponseComplete', 'Metadata', 'get'],
    ],
  );
  assert.equal(ev[0]?.auditID, ev[1]?.auditID);
  assert.equal(ev[1]?.responseStatus?.code, 200);
  assert.ok(!JSON.stringify(ev).includes('aHVudGVy'));
});

test('RequestResponse: request and response objects, managed fields left out, name from the body', async (t) => {
  const { call, events } = await serve(t);
  await call('POST', '/configmaps', { metadata: { name: 'c1' }, data: { a: 'b' } });
  const done = (await events()).find((e) => e.stage === 'ResponseComplete');
  assert.deepEqual(done?.requestObject, { metadata: { name: 'c1' }, data: { a: 'b' } });
  assert.deepEqual(done?.responseObject, {
    kind: 'X',
    metadata: { name: 'x' },
    data: { password: 'aHVudGVy' },
  });
  assert.equal(done?.objectRef?.name, 'c1');
});

test('a watch gets ResponseStarted before ResponseComplete; errors carry their Status; None writes nothing', async (t) => {
  const { call, events } = await serve(t);
  await call('GET', '/secrets/watch');
  await call('GET', '/secrets/missing');
  await call('GET', '/pods/p');
  const ev = await events();
  assert.deepEqual(
    ev.map((e) => `${e.verb} ${e.stage}`),
    [
      'watch RequestReceived',
      'watch ResponseStarted',
      'watch ResponseComplete',
      'get RequestReceived',
      'get ResponseComplete',
    ],
  );
  assert.equal(ev[4]?.responseStatus?.reason, 'NotFound');
  assert.equal(ev[4]?.responseStatus?.code, 404);
});
