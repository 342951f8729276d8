// Abuse of a real `berth server` (SQLite datastore): oversized objects made by a protobuf body
// or a patch, a JSON patch copy bomb, watches from resourceVersions that are not numbers or
// not reached yet, bodies in other formats. Each is refused with a Status, and the server
// keeps answering.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from './helpers/cluster.js';

describe('API server limits against berth server', () => {
  let c: TestCluster;
  let call: (
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ) => Promise<{ code: number; status: { reason?: string; message?: string; code?: number } }>;

  before(async () => {
    c = await startCluster(undefined);
    const tls = join(c.dataDir, 'tls');
    const ca = readFileSync(join(tls, 'ca.crt'));
    const token = readFileSync(join(tls, 'admin-token'), 'utf8').trim();
    call = (method, path, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const req = request(
          `https://127.0.0.1:${c.port}${path}`,
          { method, ca, headers: { authorization: `Bearer ${token}`, 'content-type': contentType } },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => {
              let status = {};
              try {
                status = JSON.parse(text);
              } catch {
                status = { message: text };
              }
              resolve({ code: res.statusCode ?? 0, status });
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
  });
  after(() => c?.box.cleanup());

  const cms = '/api/v1/namespaces/default/configmaps';
  const healthy = async () => assert.equal((await call('GET', '/readyz')).code, 200);

  test('an object over 1.5 MiB is refused whether it comes as protobuf (kubectl) or from a patch', async () => {
    const file = join(c.box.dir, 'big.txt');
    writeFileSync(file, 'x'.repeat(1_600_000));
    const r = await c.kubectl(['create', 'configmap', 'big', `--from-file=big=${file}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Request entity too large: configmaps "big" would be stored as \d+ bytes/);
    assert.equal((await c.kubectl(['get', 'configmap', 'big'])).code, 1);

    assert.equal((await call('POST', cms, JSON.stringify({ metadata: { name: 'small' } }))).code, 201);
    const grow = await call(
      'PATCH',
      `${cms}/small`,
      JSON.stringify({ data: { big: 'x'.repeat(1_600_000) } }),
      'application/merge-patch+json',
    );
    assert.equal(grow.code, 413);
    assert.equal(grow.status.reason, 'RequestEntityTooLarge');
    await healthy();
  });

  test('a JSON patch copy bomb is refused and nothing is stored', async () => {
    await call('POST', cms, JSON.stringify({ metadata: { name: 'bomb', annotations: {} } }));
    const bomb = [
      { op: 'add', path: '/metadata/annotations', value: { l: 'x'.repeat(1000) } },
      { op: 'add', path: '/data', value: { l: ['x'.repeat(1000)] } },
      ...Array.from({ length: 40 }, () => ({ op: 'copy', from: '/data/l', path: '/data/l/-' })),
    ];
    const r = await call('PATCH', `${cms}/bomb`, JSON.stringify(bomb), 'application/json-patch+json');
    assert.equal(r.code, 422);
    assert.match(r.status.message ?? '', /Unable to copy, would exceed max size/);
    const kept = await c.kubectl(['get', 'configmap', 'bomb', '-o', 'jsonpath={.data}']);
    assert.equal(kept.stdout, '');
    await healthy();
  });

  test('watches from a resourceVersion that is not a number, or not reached, are errors', async () => {
    const bad = await call('GET', `${cms}?watch=true&resourceVersion=abc`);
    assert.equal(bad.code, 400);
    assert.match(bad.status.message ?? '', /invalid resource version/);
    const list = await call('GET', cms);
    const rv = Number((list.status as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion);
    const future = await call('GET', `${cms}?watch=true&resourceVersion=${rv + 100_000}`);
    assert.equal(future.code, 504);
    assert.equal(future.status.reason, 'Timeout');
    assert.match(future.status.message ?? '', /Too large resource version/);
  });

  test('a large YAML body is parsed (on the parser thread) and a broken one is a 400', async () => {
    const data = Array.from({ length: 4000 }, (_, i) => `  k${i}: "${'v'.repeat(20)}"`).join('\n');
    const ok = await call('POST', cms, `metadata:\n  name: yaml-big\ndata:\n${data}\n`, 'application/yaml');
    assert.equal(ok.code, 201, ok.status.message);
    const broken = await call('POST', cms, `metadata: [\ndata:\n${data}\n`, 'application/yaml');
    assert.equal(broken.code, 400);
    assert.match(broken.status.message ?? '', /^error converting YAML to JSON/);
    await healthy();
  });

  test('text/plain bodies are 415, bad escapes and garbage protobuf are 400', async () => {
    assert.equal((await call('POST', cms, '{"metadata":{"name":"p"}}', 'text/plain')).code, 415);
    assert.equal((await call('GET', `${cms}/%zz`)).code, 400);
    const pb = await call('POST', cms, 'k8s\u0000\u00ff\u00ff', 'application/vnd.kubernetes.protobuf');
    assert.equal(pb.code, 400);
    await healthy();
  });
});
