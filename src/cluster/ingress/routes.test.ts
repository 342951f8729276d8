import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { normalizeHost, type Route, requestPath, routeTable } from './routes.js';

type Path = { path?: string; pathType?: string; service: string; port?: number | string };

const backend = (service: string, port: number | string = 80) => ({
  service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } },
});

/** An Ingress with one rule per host; `age` orders creation. */
function ingress(
  name: string,
  rules: { host?: string; paths: Path[] }[],
  extra: {
    age?: number;
    defaultBackend?: string;
    annotations?: Record<string, string>;
    tls?: unknown[];
  } = {},
): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: 'default',
      uid: name,
      creationTimestamp: `2026-01-01T00:00:${String(extra.age ?? 0).padStart(2, '0')}Z`,
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      ...(extra.defaultBackend ? { defaultBackend: backend(extra.defaultBackend) } : {}),
      ...(extra.tls ? { tls: extra.tls } : {}),
      rules: rules.map((r) => ({
        ...(r.host ? { host: r.host } : {}),
        http: {
          paths: r.paths.map((p) => ({
            ...(p.path !== undefined ? { path: p.path } : {}),
            pathType: p.pathType ?? 'Prefix',
            backend: backend(p.service, p.port),
          })),
        },
      })),
    },
  };
}

/** The Service a request reaches, or '404'. */
const to = (r: Route | undefined) => (r ? r.backend.service : '404');

test('hosts: exact names without case, port or trailing dot; unknown hosts are 404', () => {
  const { table } = routeTable([
    ingress('a', [
      { host: 'a.example.com', paths: [{ path: '/', service: 'a' }] },
      { host: 'b.example.com', paths: [{ path: '/', service: 'b' }] },
    ]),
  ]);
  assert.equal(to(table.match('a.example.com', '/')), 'a');
  assert.equal(to(table.match('B.Example.COM:8080', '/x')), 'b');
  assert.equal(to(table.match('a.example.com.', '/')), 'a');
  assert.equal(to(table.match('c.example.com', '/')), '404');
  assert.equal(to(table.match(undefined, '/')), '404');
});

test('wildcards match one more label only, and exact hosts go first', () => {
  const { table } = routeTable([
    ingress('w', [{ host: '*.example.com', paths: [{ path: '/', service: 'wild' }] }]),
    ingress('e', [{ host: 'www.example.com', paths: [{ path: '/', service: 'www' }] }]),
  ]);
  assert.equal(to(table.match('foo.example.com', '/')), 'wild');
  assert.equal(to(table.match('www.example.com', '/')), 'www');
  assert.equal(to(table.match('example.com', '/')), '404');
  assert.equal(to(table.match('a.b.example.com', '/')), '404');
});

test('Prefix matches by path element and ignores a trailing slash in the rule', () => {
  const { table } = routeTable([
    ingress('p', [
      {
        host: 'h',
        paths: [
          { path: '/foo', service: 'foo' },
          { path: '/aaa/bbb/', service: 'bbb' },
        ],
      },
    ]),
  ]);
  assert.equal(to(table.match('h', '/foo')), 'foo');
  assert.equal(to(table.match('h', '/foo/')), 'foo');
  assert.equal(to(table.match('h', '/foo/bar?x=1')), 'foo');
  assert.equal(to(table.match('h', '/foobar')), '404');
  assert.equal(to(table.match('h', '/aaa/bbb')), 'bbb');
  assert.equal(to(table.match('h', '/aaa/bbbxyz')), '404');
});

test('Exact matches the path alone; ImplementationSpecific is a prefix', () => {
  const { table } = routeTable([
    ingress('x', [
      {
        host: 'h',
        paths: [
          { path: '/exact', pathType: 'Exact', service: 'exact' },
          { path: '/impl', pathType: 'ImplementationSpecific', service: 'impl' },
        ],
      },
    ]),
  ]);
  assert.equal(to(table.match('h', '/exact')), 'exact');
  assert.equal(to(table.match('h', '/exact?q=1')), 'exact');
  assert.equal(to(table.match('h', '/exact/')), '404');
  assert.equal(to(table.match('h', '/impl/deeper')), 'impl');
});

test('the longest path wins, then Exact over Prefix, then the oldest Ingress', () => {
  const { table } = routeTable([
    ingress('young', [{ host: 'h', paths: [{ path: '/api', service: 'young' }] }], { age: 9 }),
    ingress(
      'old',
      [
        {
          host: 'h',
          paths: [
            { path: '/', service: 'root' },
            { path: '/api', service: 'old' },
            { path: '/api/v1', service: 'v1' },
            { path: '/api/v1', pathType: 'Exact', service: 'v1-exact' },
          ],
        },
      ],
      { age: 1 },
    ),
  ]);
  assert.equal(to(table.match('h', '/api/v1')), 'v1-exact');
  assert.equal(to(table.match('h', '/api/v1/x')), 'v1');
  assert.equal(to(table.match('h', '/api/v2')), 'old');
  assert.equal(to(table.match('h', '/other')), 'root');
});

test('a host without a matching path falls through to rules without a host, then the default backend', () => {
  const { table } = routeTable([
    ingress('h', [{ host: 'h', paths: [{ path: '/app', service: 'app' }] }]),
    ingress('any', [{ paths: [{ path: '/static', service: 'static' }] }], {
      defaultBackend: 'fallback',
      age: 2,
    }),
    ingress('later', [], { defaultBackend: 'later', age: 5 }),
  ]);
  assert.equal(to(table.match('h', '/app/x')), 'app');
  assert.equal(to(table.match('h', '/static/a.css')), 'static');
  assert.equal(to(table.match('other', '/static')), 'static');
  assert.equal(to(table.match('other', '/nothing')), 'fallback');
});

test('backends by port name or number; a backend that is not a Service is a problem, the rest serves', () => {
  const bad = ingress('bad', [{ host: 'h', paths: [{ path: '/ok', service: 'ok', port: 'http' }] }]);
  (bad.spec.rules as { http: { paths: unknown[] } }[])[0]!.http.paths.push({
    path: '/res',
    pathType: 'Prefix',
    backend: { resource: { kind: 'StorageBucket', name: 'b' } },
  });
  const { table, problems } = routeTable([bad]);
  assert.deepEqual(table.match('h', '/ok')?.backend, {
    namespace: 'default',
    service: 'ok',
    port: { name: 'http' },
  });
  assert.equal(to(table.match('h', '/res')), '404');
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.reason, 'UnsupportedBackend');
});

test('annotations: redirects, body size and timeouts; a bad value is a problem and the default applies', () => {
  const { table, problems } = routeTable([
    ingress('a', [{ host: 'a', paths: [{ path: '/', service: 'a' }] }], {
      annotations: {
        'ingress.berth.dev/ssl-redirect': 'true',
        'nginx.ingress.kubernetes.io/proxy-body-size': '1m',
        'nginx.ingress.kubernetes.io/proxy-read-timeout': '5',
        'nginx.ingress.kubernetes.io/proxy-connect-timeout': 'soon',
      },
    }),
    ingress('b', [{ host: 'b', paths: [{ path: '/', service: 'b' }] }], {
      annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' },
      tls: [{ hosts: ['b'], secretName: 's' }],
    }),
  ]);
  const a = table.match('a', '/');
  assert.equal(a?.options.sslRedirect, 'always');
  assert.equal(a?.options.bodyLimit, 1024 * 1024);
  assert.equal(a?.options.readTimeoutMs, 5000);
  assert.equal(a?.options.connectTimeoutMs, 5000);
  assert.equal(problems.length, 1);
  assert.match(problems[0]?.message ?? '', /proxy-connect-timeout: "soon" is not a number of seconds/);
  const b = table.match('b', '/');
  assert.equal(b?.options.sslRedirect, 'if-tls');
  assert.equal(b?.tls, true);
});

test('requestPath drops the query and reads the absolute form', () => {
  assert.equal(requestPath('/a/b?c=d#e'), '/a/b');
  assert.equal(requestPath('http://h.test:8080/x?y'), '/x');
  assert.equal(requestPath('http://h.test'), '/');
  assert.equal(requestPath(undefined), '/');
});

test('normalizeHost keeps IPv6 literals and drops ports', () => {
  assert.equal(normalizeHost('[::1]:8443'), '[::1]');
  assert.equal(normalizeHost('10.0.0.1:80'), '10.0.0.1');
  assert.equal(normalizeHost(''), '');
});
