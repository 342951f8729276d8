// The REST handler over the in-memory store double, through a plain HTTP server: watch
// semantics, pagination, conflicts, finalizers, Status shapes.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ResourceRegistry } from '../api/resources.js';
import { memoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { allowAll } from './auth.js';
import { makeHandler } from './handler.js';
import { RestStorage } from './rest.js';

describe('REST handler', () => {
  let server: Server;
  let store: Store;
  let base: string;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ code: number; body: unknown; text: string }>((resolve, reject) => {
      const req = request(
        `${base}${path}`,
        { method, headers: { 'content-type': 'application/json', authorization: 'Bearer t', ...headers } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ code: res.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
      req.end();
    });

  before(async () => {
    store = memoryStore();
    const registry = new ResourceRegistry();
    const rest = new RestStorage(store);
    await rest.ensure(registry.get('', 'v1', 'namespaces') as never, undefined, {
      metadata: { name: 'default' },
    });
    const handler = makeHandler({
      registry,
      rest,
      store,
      authenticate: Object.assign(
        (req: IncomingMessage) =>
          req.headers.authorization === 'Bearer t' ? { name: 'admin', groups: [] } : undefined,
        { byToken: (t: string) => (t === 't' ? { name: 'admin', groups: [] } : undefined) },
      ),
      serviceAccountKey: generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs1', format: 'pem' })
        .toString(),
      authorize: allowAll,
      serverAddress: 'x',
      ready: () => true,
    });
    server = createServer((q, s) => void handler(q, s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const cm = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...extra },
    data: { a: '1' },
  });
  const cms = '/api/v1/namespaces/default/configmaps';

  test('anonymous is 401; missing objects are NotFound Status objects', async () => {
    const anon = await call('GET', cms, undefined, { authorization: '' });
    assert.equal(anon.code, 401);
    const nf = await call('GET', `${cms}/nope`);
    assert.deepEqual(nf.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'configmaps' },
      code: 404,
    });
  });

  test('create, conflict on stale update, malformed body, unknown resource', async () => {
    const c = await call('POST', cms, cm('a'));
    assert.equal(c.code, 201);
    const obj = c.body as { metadata: { resourceVersion: string; uid: string } };
    assert.ok(obj.metadata.uid);
    assert.equal((await call('POST', cms, cm('a'))).code, 409);
    assert.equal(
      (
        await call('PUT', `${cms}/a`, {
          ...cm('a'),
          metadata: { name: 'a', resourceVersion: obj.metadata.resourceVersion },
        })
      ).code,
      200,
    );
    const stale = await call('PUT', `${cms}/a`, {
      ...cm('a'),
      metadata: { name: 'a', resourceVersion: obj.metadata.resourceVersion },
    });
    assert.equal(stale.code, 409);
    assert.equal((stale.body as { reason: string }).reason, 'Conflict');
    const bad = await call('POST', cms, '{not json');
    assert.equal(bad.code, 400);
    assert.match((bad.body as { message: string }).message, /^couldn't get version\/kind; json parse error/);
    assert.equal((await call('GET', '/api/v1/namespaces/default/nothings')).code, 404);
    const big = await call('POST', cms, cm('big', {}), {});
    assert.equal(big.code, 201);
    const huge = await call('POST', cms, { ...cm('huge'), data: { a: 'x'.repeat(1_600_000) } });
    assert.equal(huge.code, 413);
    assert.equal((await call('GET', `${cms}/huge`)).code, 404);
  });

  test('namespace status subresource', async () => {
    const r = await call('GET', '/api/v1/namespaces/default/status');
    assert.equal(r.code, 200);
    assert.equal((r.body as { kind: string }).kind, 'Namespace');
  });

  test('list pagination with continue tokens', async () => {
    for (const n of ['p1', 'p2', 'p3']) await call('POST', cms, cm(n, { labels: { page: 'y' } }));
    const first = (await call('GET', `${cms}?labelSelector=page%3Dy&limit=2`)).body as {
      items: unknown[];
      metadata: { continue?: string };
    };
    assert.equal(first.items.length, 2);
    assert.ok(first.metadata.continue);
    const second = (
      await call('GET', `${cms}?labelSelector=page%3Dy&limit=2&continue=${first.metadata.continue}`)
    ).body as {
      items: { metadata: { name: string } }[];
      metadata: { continue?: string };
    };
    assert.deepEqual(
      second.items.map((i) => i.metadata.name),
      ['p3'],
    );
    assert.equal(second.metadata.continue, undefined);
  });

  test('finalizers hold a deleted object until they are removed', async () => {
    await call('POST', cms, cm('fin', { finalizers: ['x/y'] }));
    const d = await call('DELETE', `${cms}/fin`);
    assert.ok((d.body as { metadata: { deletionTimestamp?: string } }).metadata.deletionTimestamp);
    assert.equal((await call('GET', `${cms}/fin`)).code, 200);
    await call(
      'PATCH',
      `${cms}/fin`,
      { metadata: { finalizers: null } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal((await call('GET', `${cms}/fin`)).code, 404);
  });

  test('watch from a resourceVersion, initial events, and 410 when compacted', async () => {
    const rv = String(await store.revision());
    await call('POST', cms, cm('w1'));
    const w = await call('GET', `${cms}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    const events = w.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.object.metadata.name}`),
      ['ADDED:w1'],
    );
    const initial = await call('GET', `${cms}?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dw1`);
    assert.match(initial.text, /"type":"ADDED".*"name":"w1"/);
    const exact = await call('GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.ok(
      !(exact.body as { items: { metadata: { name: string } }[] }).items.some(
        (i) => i.metadata.name === 'w1',
      ),
    );
    await store.compact(await store.revision());
    const gone = await call('GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.equal(gone.code, 410);
    const old = await call('GET', `${cms}?watch=true&resourceVersion=2&timeoutSeconds=1`);
    const ev = JSON.parse(old.text.trim()) as { type: string; object: { code: number; reason: string } };
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
  });

  test('reviews are answered, not stored; serviceaccounts/token issues a JWT', async () => {
    const tr = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: 't' },
    });
    assert.equal(tr.code, 201);
    assert.deepEqual((tr.body as { status: { authenticated: boolean } }).status.authenticated, true);
    const ssar = await call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'get', resource: 'pods' } },
    });
    assert.deepEqual((ssar.body as { status: unknown }).status, { allowed: true });
    assert.equal((await call('GET', '/apis/authentication.k8s.io/v1/tokenreviews')).code, 405);
    await call('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'bot' } });
    const tok = await call('POST', '/api/v1/namespaces/default/serviceaccounts/bot/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {},
    });
    assert.equal(tok.code, 201);
    const jwt = (tok.body as { status: { token: string } }).status.token;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:bot');
  });

  test('invalid objects are 422 with field causes and are not stored', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c' }] },
    });
    assert.equal(r.code, 422);
    const st = r.body as { reason: string; details: { causes: { field: string; reason: string }[] } };
    assert.equal(st.reason, 'Invalid');
    assert.deepEqual(st.details.causes, [
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' },
    ]);
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p')).code, 404);
  });
});
