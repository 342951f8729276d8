// The audit log: a policy's levels give the expected events for a create, a Secret read at
// Metadata level (no data), a watch, and an impersonated request, in audit.k8s.io/v1 form.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCluster } from './helpers/cluster.js';
import { sandbox } from './helpers/sandbox.js';

interface Event {
  apiVersion: string;
  kind: string;
  level: string;
  stage: string;
  verb: string;
  auditID: string;
  user: { username: string };
  impersonatedUser?: { username: string; groups?: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code: number };
  requestObject?: { metadata?: { name?: string } };
  responseObject?: unknown;
}

test('audit log: create at Request, Secret get at Metadata without data, watch stages', async (t) => {
  const box = await sandbox(t);
  const policy = join(box.dir, 'policy.yaml');
  const log = join(box.dir, 'audit', 'audit.log');
  writeFileSync(
    policy,
    `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  resources: [{group: "", resources: [secrets]}]
- level: Request
  verbs: [create]
  resources: [{group: "", resources: [configmaps]}]
- level: Metadata
  verbs: [watch]
  resources: [{group: "", resources: [configmaps]}]
- level: None
`,
  );
  const c = await startCluster(t, { args: ['--audit-policy-file', policy, '--audit-log-path', log] });
  const value = 'c2VjcmV0LWF1ZGl0LXZhbHVl';
  for (const args of [
    ['create', 'secret', 'generic', 'pw', `--from-literal=p=${Buffer.from(value, 'base64').toString()}`],
    ['get', 'secret', 'pw', '-o', 'yaml'],
    ['create', 'configmap', 'cm1', '--from-literal=a=b'],
    ['get', '--raw', '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1'],
    // The admin impersonating bob: the event names both.
    ['get', 'secret', 'pw', '--as', 'bob', '--as-group', 'system:masters', '-o', 'name'],
  ]) {
    const r = await c.kubectl(args);
    assert.equal(r.code, 0, r.stderr);
  }
  // A clean stop writes everything queued.
  await c.stop('SIGTERM');
  const text = readFileSync(log, 'utf8');
  assert.ok(!text.includes(value), 'no Secret data in the log');
  const events = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);
  for (const e of events) {
    assert.equal(e.apiVersion, 'audit.k8s.io/v1');
    assert.equal(e.kind, 'Event');
    assert.notEqual(e.stage, 'RequestReceived');
  }
  const of = (verb: string, resource: string) =>
    events.filter(
      (e) => e.verb === verb && e.objectRef?.resource === resource && e.user.username === 'admin',
    );

  const get = of('get', 'secrets').filter((e) => !e.impersonatedUser);
  assert.deepEqual(
    get.map((e) => [e.stage, e.level, e.objectRef?.name, e.responseStatus?.code]),
    [['ResponseComplete', 'Metadata', 'pw', 200]],
  );
  assert.equal(get[0]?.requestObject, undefined);
  assert.equal(get[0]?.responseObject, undefined);

  const create = of('create', 'configmaps');
  assert.equal(create.length, 1);
  assert.equal(create[0]?.level, 'Request');
  assert.equal(create[0]?.requestObject?.metadata?.name, 'cm1');
  assert.equal(create[0]?.responseObject, undefined);
  assert.equal(create[0]?.responseStatus?.code, 201);

  const watch = of('watch', 'configmaps');
  assert.deepEqual(
    watch.map((e) => e.stage),
    ['ResponseStarted', 'ResponseComplete'],
  );
  assert.equal(watch[0]?.auditID, watch[1]?.auditID);
  assert.equal(of('list', 'configmaps').length, 0, 'level None writes nothing');

  // The policy matched the authenticated user; the impersonated one is named beside it.
  const impersonated = of('get', 'secrets').filter((e) => e.impersonatedUser);
  assert.equal(impersonated.length, 1);
  assert.deepEqual(impersonated[0]?.impersonatedUser, {
    username: 'bob',
    groups: ['system:masters', 'system:authenticated'],
  });
});
