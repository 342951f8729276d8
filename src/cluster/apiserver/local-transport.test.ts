// The in-process transport against a real API server (SQLite in a temporary folder, audit on):
// the node's identity is authenticated, authorized and admitted as over HTTP (a forbidden
// write is still refused), every request is audited, and objects handed across either way
// are copies that neither side can change for the other.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  KubeClient,
  type KubeObject,
  type Resource,
  Resources,
  type WatchEvent,
} from '../client/kube-client.js';
import { type RunningServer, startServer } from './server.js';

const pod = (name: string, nodeName: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { nodeName, containers: [{ name: 'main', image: 'busybox' }] },
});

/** Resolves with the first watch event `ok` accepts; the watch stops then. */
function nextEvent(
  client: KubeClient,
  rv: string,
  ok: (e: WatchEvent) => boolean,
  query = '',
  resource: Resource = Resources.pods,
): Promise<WatchEvent> {
  return new Promise((resolve, reject) => {
    const stop = client.watch(
      resource,
      rv,
      (e) => {
        if (!ok(e)) return;
        stop();
        resolve(e);
      },
      (err) => reject(err ?? new Error('the watch ended')),
      query,
    );
  });
}

describe('in-process transport', () => {
  let dir: string;
  let s: RunningServer;
  let admin: KubeClient;
  let node: KubeClient;
  const auditLog = () => join(dir, 'audit.log');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-local-transport-'));
    const policyFile = join(dir, 'audit-policy.yaml');
    writeFileSync(
      policyFile,
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["RequestReceived"]\nrules:\n- level: RequestResponse\n',
    );
    s = await startServer({
      dataDir: join(dir, 'data'),
      port: 0,
      bindAddress: '127.0.0.1',
      audit: { policyFile, log: { target: { path: auditLog() } } },
    });
    admin = new KubeClient({ server: s.url, transport: s.localTransport, token: s.adminToken });
    node = new KubeClient({ server: s.url, transport: s.localTransport, token: s.localNodeToken('n1') });
    await admin.create(Resources.pods, 'default', pod('mine', 'n1'));
    await admin.create(Resources.pods, 'default', pod('theirs', 'n2'));
  });
  after(async () => {
    admin?.close();
    node?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the node writes the status of its own pod, and the answer is its own copy', async () => {
    const status = { phase: 'Running', podIP: '10.42.0.5', hostIP: undefined };
    const written = await node.patchStatus(Resources.pods, 'default', 'mine', { status });
    assert.equal(written.status?.phase, 'Running');
    // As over JSON: a member without a value is left out, not stored as undefined.
    assert.equal('hostIP' in (written.status ?? {}), false);
    // Neither the body nor the answer is the server's: changing them changes nothing stored.
    status.phase = 'Failed';
    written.status.podIP = '10.42.0.99';
    const again = await node.get(Resources.pods, 'default', 'mine');
    assert.equal(again.status?.phase, 'Running');
    assert.equal(again.status?.podIP, '10.42.0.5');
  });

  test("a forbidden write is refused: another node's pod, a Secret, a pod create", async () => {
    await assert.rejects(
      node.patchStatus(Resources.pods, 'default', 'theirs', { status: { phase: 'Running' } }),
      (e: Error & { code?: string }) => e.code === 'PermissionDenied' && /403/.test(e.message),
    );
    await assert.rejects(
      node.create(Resources.secrets, 'default', { metadata: { name: 'x' }, data: {} }),
      (e: Error & { code?: string }) => e.code === 'PermissionDenied',
    );
    await assert.rejects(
      node.create(Resources.pods, 'default', pod('made-by-node', 'n1')),
      (e: Error & { code?: string }) => e.code === 'PermissionDenied',
    );
    // ...and reads are limited as over HTTP: no Secret its pods do not use, no list of them all.
    await assert.rejects(
      node.get(Resources.secrets, 'default', 'anything'),
      (e: Error & { code?: string }) => e.code === 'PermissionDenied',
    );
    await assert.rejects(
      node.list(Resources.secrets),
      (e: Error & { code?: string }) => e.code === 'PermissionDenied',
    );
  });

  test('errors keep their Status: NotFound, AlreadyExists, Invalid', async () => {
    await assert.rejects(
      admin.get(Resources.pods, 'default', 'nope'),
      (e: Error & { code?: string }) => e.code === 'NotFound' && /pods "nope" not found/.test(e.message),
    );
    await assert.rejects(
      admin.create(Resources.pods, 'default', pod('mine', 'n1')),
      (e: Error & { code?: string }) => e.code === 'AlreadyExists',
    );
    await assert.rejects(
      admin.create(Resources.configmaps, 'default', { metadata: { name: 'Bad_Name' } }),
      (e: Error & { code?: string }) => e.code === 'InvalidArgument' && /Bad_Name/.test(e.message),
    );
  });

  test("watches hand each watcher its own objects, and a node's watch is authorized", async () => {
    const { metadata } = await node.list(Resources.pods, undefined, 'fieldSelector=spec.nodeName%3Dn1');
    const changed = (e: WatchEvent) => e.type === 'MODIFIED' && e.object.metadata.name === 'mine';
    const first = nextEvent(node, metadata.resourceVersion, changed, 'fieldSelector=spec.nodeName%3Dn1');
    const second = nextEvent(admin, metadata.resourceVersion, changed);
    await admin.patch(Resources.pods, 'default', 'mine', { metadata: { labels: { seen: 'yes' } } });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.object.metadata.labels?.seen, 'yes');
    assert.notEqual(a.object, b.object);
    a.object.metadata.labels = { changed: 'by-a' };
    assert.equal(b.object.metadata.labels?.seen, 'yes');
    // Every Secret is not the node's to watch.
    await assert.rejects(
      nextEvent(node, metadata.resourceVersion, () => true, '', Resources.secrets),
      (e: Error & { code?: string }) => e.code === 'PermissionDenied',
    );
  });

  test('a watch from a compacted or bad revision ends with its error', async () => {
    await assert.rejects(
      nextEvent(admin, 'not-a-number', () => true),
      (e: Error & { code?: string }) => e.code === 'InvalidArgument',
    );
  });

  test("the node's requests are audited as its own, with the objects", async () => {
    await s.close();
    const events = readFileSync(auditLog(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const patch = events.find(
      (e) =>
        e.verb === 'patch' &&
        e.objectRef?.name === 'mine' &&
        e.objectRef?.subresource === 'status' &&
        e.user.username === 'system:node:n1',
    );
    assert.ok(patch, 'the status patch is in the audit log');
    assert.equal(patch.responseStatus.code, 200);
    assert.deepEqual(patch.user.groups, ['system:nodes', 'system:authenticated']);
    assert.equal(patch.requestObject.status.podIP, '10.42.0.5');
    assert.equal(patch.responseObject.metadata.name, 'mine');
    const refused = events.find(
      (e) => e.verb === 'patch' && e.objectRef?.name === 'theirs' && e.user.username === 'system:node:n1',
    );
    assert.equal(refused?.responseStatus.code, 403);
    assert.ok(
      events.some((e) => e.verb === 'watch' && e.user.username === 'system:node:n1'),
      "the node's watch is audited",
    );
  });
});
