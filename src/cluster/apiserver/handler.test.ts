// The REST handler over the in-memory store double, through a plain HTTP server: watch
// semantics, pagination, conflicts, finalizers, Status shapes.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ResourceRegistry } from '../api/resources.js';
import { memoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { allowAll } from './authz/attributes.js';
import { makeHandler } from './handler.js';
import { RestStorage } from './rest.js';

describe('REST handler', () => {
  let server: Server;
  let store: Store;
  let base: string;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ code: number; body: unknown; text: string; headers: IncomingHttpHeaders }>(
      (resolve, reject) => {
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
              resolve({ code: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
            });
          },
        );
        req.on('error', reject);
        if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
        req.end();
      },
    );

  before(async () => {
    store = memoryStore();
    const registry = new ResourceRegistry();
    const rest = new RestStorage(store);
    await rest.ensure(registry.get('', 'v1', 'namespaces') as never, undefined, {
      metadata: { name: 'default' },
    });
    // Every namespace has its `default` ServiceAccount, which pods run as.
    await rest.ensure(registry.get('', 'v1', 'serviceaccounts') as never, 'default', {
      metadata: { name: 'default' },
    });
    const handler = makeHandler({
      registry,
      rest,
      store,
      authenticate: Object.assign(
        (req: IncomingMessage) =>
          req.headers.authorization === 'Bearer t' ? { name: 'admin', groups: [] } : undefined,
        {
          byToken: (t: string) =>
            t === 't' ? { user: { name: 'admin', groups: [] }, audiences: [] } : undefined,
        },
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
    // Booleans parse as kube-apiserver parses them: the Python client's watch=True is a watch.
    const python = await call('GET', `${cms}?watch=True&timeoutSeconds=1&fieldSelector=metadata.name%3Dw1`);
    assert.match(python.text, /"type":"ADDED".*"name":"w1"/);
    const off = await call('GET', `${cms}?watch=False&fieldSelector=metadata.name%3Dw1`);
    assert.equal((off.body as { kind: string }).kind, 'ConfigMapList');
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

  const reason = (r: { body: unknown }) => (r.body as { reason?: string }).reason;
  const message = (r: { body: unknown }) => (r.body as { message?: string }).message ?? '';

  test('every stored object is held to the size limit, however it was made', async () => {
    assert.equal((await call('POST', cms, cm('grow'))).code, 201);
    const big = 'x'.repeat(1_600_000);
    for (const [type, patch] of [
      ['application/merge-patch+json', { data: { b: big } }],
      ['application/strategic-merge-patch+json', { data: { b: big } }],
      ['application/json-patch+json', [{ op: 'add', path: '/data/b', value: big }]],
    ] as const) {
      const r = await call('PATCH', `${cms}/grow`, patch, { 'content-type': type });
      assert.equal(r.code, 413, `${type}: ${r.text.slice(0, 200)}`);
      assert.equal(reason(r), 'RequestEntityTooLarge');
      assert.match(message(r), /configmaps "grow" would be stored as \d+ bytes, over the limit of 1572864/);
    }
    const kept = (await call('GET', `${cms}/grow`)).body as { data: Record<string, string> };
    assert.deepEqual(kept.data, { a: '1' });
    const tooBig = await call('POST', cms, { ...cm('body'), data: { a: 'x'.repeat(3_200_000) } });
    assert.equal(tooBig.code, 413);
    assert.match(message(tooBig), /over the limit of 3145728 bytes/);
  });

  test('a JSON patch copy bomb and a JSON patch of too many operations are refused', async () => {
    await call('POST', cms, cm('bomb'));
    const bomb = [
      { op: 'add', path: '/data/l', value: 'x' },
      { op: 'add', path: '/metadata/annotations', value: { l: ['x'.repeat(1000)] } },
      ...Array.from({ length: 40 }, () => ({
        op: 'copy',
        from: '/metadata/annotations/l',
        path: '/metadata/annotations/l/-',
      })),
    ];
    const r = await call('PATCH', `${cms}/bomb`, bomb, { 'content-type': 'application/json-patch+json' });
    assert.equal(r.code, 422);
    assert.match(message(r), /Unable to copy, would exceed max size/);
    const many = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/data/a', value: '1' }));
    const r2 = await call('PATCH', `${cms}/bomb`, many, { 'content-type': 'application/json-patch+json' });
    assert.equal(r2.code, 413);
    assert.equal(reason(r2), 'RequestEntityTooLarge');
  });

  test('a strategic merge patch of thousands of containers merges them by name', async () => {
    const containers = (n: number, image: string) =>
      Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image }));
    const pods = '/api/v1/namespaces/default/pods';
    const created = await call('POST', pods, {
      metadata: { name: 'many' },
      spec: { containers: containers(3000, 'a:1') },
    });
    assert.equal(created.code, 201, created.text.slice(0, 300));
    const r = await call(
      'PATCH',
      `${pods}/many`,
      { spec: { containers: containers(3000, 'a:2').reverse() } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(r.code, 200, r.text.slice(0, 300));
    const got = (r.body as { spec: { containers: { name: string; image: string }[] } }).spec.containers;
    assert.equal(got.length, 3000);
    assert.deepEqual(got[0], { ...got[0], name: 'c0', image: 'a:2' });
  });

  test('watch and list parameters that do not parse are 400; a future resourceVersion waits, then is a 504', async () => {
    for (const q of [
      'watch=true&resourceVersion=abc',
      'resourceVersion=abc',
      'watch=true&timeoutSeconds=abc',
      'limit=x',
    ]) {
      const r = await call('GET', `${cms}?${q}`);
      assert.equal(r.code, 400, `${q}: ${r.text}`);
      assert.equal(reason(r), 'BadRequest');
    }
    assert.match(
      message(await call('GET', `${cms}?watch=true&resourceVersion=abc`)),
      /invalid resource version.*"abc"/,
    );
    const future = (await store.revision()) + 1000;
    const r = await call('GET', `${cms}?watch=true&resourceVersion=${future}`);
    assert.equal(r.code, 504);
    assert.equal(reason(r), 'Timeout');
    assert.match(message(r), new RegExp(`Too large resource version: ${future}, current: \\d+`));
    assert.deepEqual((r.body as { details: { causes: unknown[] } }).details.causes, [
      { reason: 'ResourceVersionTooLarge', message: 'Too large resource version' },
    ]);
  });

  test('a watch from the next resourceVersion starts once the store reaches it', async () => {
    const next = (await store.revision()) + 1;
    const watching = call('GET', `${cms}?watch=true&resourceVersion=${next}&timeoutSeconds=1`);
    await call('POST', cms, cm('next-a'));
    await call('POST', cms, cm('next-b'));
    const w = await watching;
    assert.equal(w.code, 200);
    assert.match(w.text, /"type":"ADDED".*"name":"next-b"/);
    assert.doesNotMatch(w.text, /"name":"next-a"/);
  });

  test('field validation: unknown fields are dropped with a warning by default and fail under Strict; duplicate keys too', async () => {
    const unknown = await call('POST', cms, { ...cm('unk'), foo: 1 });
    assert.equal(unknown.code, 201);
    assert.equal(unknown.headers.warning, '299 - "unknown field \\"foo\\""');
    assert.equal((unknown.body as { foo?: number }).foo, undefined, 'dropped, as upstream drops it');
    const pod = await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'unk', bogus: 1 },
      spec: { containers: [{ name: 'c', image: 'i', imagee: 'j' }] },
    });
    assert.equal(pod.code, 201, pod.text);
    assert.deepEqual(
      pod.headers.warning,
      '299 - "unknown field \\"metadata.bogus\\"", 299 - "unknown field \\"spec.containers[0].imagee\\""',
    );
    const stored = (await call('GET', '/api/v1/namespaces/default/pods/unk')).body as {
      metadata: Record<string, unknown>;
      spec: { containers: Record<string, unknown>[] };
    };
    assert.equal(stored.metadata.bogus, undefined);
    assert.deepEqual(Object.keys(stored.spec.containers[0] ?? {}).includes('imagee'), false);
    const strict = await call('POST', `${cms}?fieldValidation=Strict`, { ...cm('unk2'), foo: 1 });
    assert.equal(strict.code, 400);
    assert.match(message(strict), /strict decoding error: unknown field "foo"/);
    const dup =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"},"data":{"a":"1"}}';
    const strictDup = await call('POST', `${cms}?fieldValidation=Strict`, dup);
    assert.equal(strictDup.code, 400);
    assert.match(message(strictDup), /strict decoding error: duplicate field "metadata.name"/);
    const warnDup = await call('POST', cms, dup);
    assert.equal(warnDup.code, 201);
    assert.equal(warnDup.headers.warning, '299 - "duplicate field \\"metadata.name\\""');
    const ignored = await call('POST', `${cms}?fieldValidation=Ignore`, { ...cm('ign'), foo: 1 });
    assert.equal(ignored.code, 201);
    assert.equal(ignored.headers.warning, undefined);
    assert.equal((await call('POST', `${cms}?fieldValidation=Loose`, cm('loose'))).code, 400);
  });

  test('bodies in other formats are 415, malformed protobuf and bad path escapes are 400', async () => {
    const plain = await call('POST', cms, JSON.stringify(cm('plain')), { 'content-type': 'text/plain' });
    assert.equal(plain.code, 415);
    assert.equal(reason(plain), 'UnsupportedMediaType');
    assert.match(message(plain), /"text\/plain"/);
    const pb = { 'content-type': 'application/vnd.kubernetes.protobuf' };
    const garbage = await call('POST', cms, '\u0000\u00ff\u00fegarbage', pb);
    assert.equal(garbage.code, 400);
    assert.match(message(garbage), /does not appear to be a protobuf message/);
    const truncated = await call('POST', cms, 'k8s\u0000\n\u00ff\u00ff\u0003ab', pb);
    assert.equal(truncated.code, 400);
    assert.match(message(truncated), /the protobuf body could not be decoded: truncated/);
    const esc = await call('GET', '/api/v1/namespaces/default/configmaps/a%zz');
    assert.equal(esc.code, 400);
    assert.match(message(esc), /invalid URL escape in the path segment "a%zz"/);
  });

  test('YAML bodies: JSON passes straight through, large YAML is parsed off the main thread', async () => {
    const yaml = { 'content-type': 'application/yaml' };
    const data = Array.from({ length: 4000 }, (_, i) => `  k${i}: "${'v'.repeat(20)}"`).join('\n');
    const big = await call(
      'POST',
      cms,
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml-big\ndata:\n${data}\n`,
      yaml,
    );
    assert.equal(big.code, 201, big.text.slice(0, 300));
    assert.equal(Object.keys((big.body as { data: object }).data).length, 4000);
    const broken = await call('POST', cms, `metadata:\n  name: [unclosed\ndata:\n${data}\n`, yaml);
    assert.equal(broken.code, 400);
    assert.match(message(broken), /^error converting YAML to JSON: yaml: /);
    const json = await call('POST', cms, JSON.stringify(cm('yaml-json')), yaml);
    assert.equal(json.code, 201);
  });
});

describe('the scale subresource', () => {
  test('status.selector is the whole label selector as text, as the wide table prints it', async () => {
    const registry = new ResourceRegistry();
    const rest = new RestStorage(memoryStore());
    const deployments = registry.get('apps', 'v1', 'deployments');
    assert.ok(deployments);
    await rest.ensure(registry.get('', 'v1', 'namespaces') as never, undefined, {
      metadata: { name: 'default' },
    });
    await rest.create(
      deployments,
      'default',
      {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: {
            matchLabels: { tier: 'fe', app: 'web' },
            matchExpressions: [
              { key: 'env', operator: 'In', values: ['prod', 'dev'] },
              { key: 'gone', operator: 'DoesNotExist' },
            ],
          },
          template: {
            metadata: { labels: { app: 'web', tier: 'fe', env: 'dev' } },
            spec: { containers: [{ name: 'c', image: 'busybox' }] },
          },
        },
      },
      {},
    );
    const handler = makeHandler({
      registry,
      rest,
      store: memoryStore(),
      authenticate: Object.assign(() => ({ name: 'admin', groups: [] }), { byToken: () => undefined }),
      serviceAccountKey: '',
      authorize: allowAll,
      serverAddress: 'x',
      ready: () => true,
    });
    const server = createServer((q, s) => void handler(q, s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => server.close());
    const get = (path: string, accept = 'application/json') =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const port = (server.address() as AddressInfo).port;
        request(`http://127.0.0.1:${port}${path}`, { headers: { accept } }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(JSON.parse(text)));
        })
          .on('error', reject)
          .end();
      });
    const want = 'app=web,env in (dev,prod),!gone,tier=fe';
    const scale = await get('/apis/apps/v1/namespaces/default/deployments/web/scale');
    assert.deepEqual(scale.status, { replicas: 0, selector: want });
    const table = await get(
      '/apis/apps/v1/namespaces/default/deployments',
      'application/json;as=Table;v=v1;g=meta.k8s.io',
    );
    const cols = (table.columnDefinitions as { name: string }[]).map((c) => c.name);
    const row = (table.rows as { cells: unknown[] }[])[0];
    assert.equal(row?.cells[cols.indexOf('Selector')], want);
  });
});
