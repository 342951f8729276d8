import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResourceRegistry } from './resources.js';
import { nameProblem, validate } from './validate.js';

const reg = new ResourceRegistry();
const deploy = reg.get('apps', 'v1', 'deployments');
const ns = reg.get('', 'v1', 'namespaces');

test('names: subdomains for most kinds, labels for namespaces', () => {
  assert.equal(nameProblem('a.b-c', false), undefined);
  assert.match(nameProblem('A', false) ?? '', /RFC 1123 subdomain/);
  assert.match(nameProblem('a.b', true) ?? '', /RFC 1123 label/);
  assert.ok(ns);
  assert.equal(validate(ns, { metadata: { name: 'a.b' } })[0]?.field, 'metadata.name');
});

test('deployment selector must match template labels; containers need name and image', () => {
  assert.ok(deploy);
  const d = {
    metadata: { name: 'd' },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'c' }] } },
    },
  };
  const causes = validate(deploy, d).map((c) => `${c.field}:${c.reason}`);
  assert.deepEqual(causes, [
    'spec.template.metadata.labels:FieldValueInvalid',
    'spec.template.spec.containers[0].image:FieldValueRequired',
  ]);
});

test('strict field checking names nested unknown fields', async () => {
  const { kindType } = await import('./schema.js');
  const { decodeFindings } = await import('./decode-types.js');
  const { catalogue } = await import('./k8s-catalogue.js');
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', labelz: {} },
    spec: {
      template: {
        spec: { containers: [{ name: 'c', imagee: 'x', env: [{ name: 'a', valueFrom: { anything: 1 } }] }] },
      },
    },
  };
  // The built catalogue describes every field (valueFrom too); the fallback table stops at it.
  assert.deepEqual(decodeFindings(kindType('apps', 'v1', 'Deployment') ?? '', d).unknown, [
    'metadata.labelz',
    'spec.template.spec.containers[0].imagee',
    ...(catalogue() ? ['spec.template.spec.containers[0].env[0].valueFrom.anything'] : []),
  ]);
});

test('updates may not change immutable fields or most of a pod spec', async () => {
  const { validateUpdate } = await import('./validate.js');
  const pods = reg.get('', 'v1', 'pods');
  assert.ok(pods && deploy);
  const pod = (image: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image }], ...extra },
  });
  assert.deepEqual(validateUpdate(pods, pod('b'), pod('a')), []);
  assert.deepEqual(validateUpdate(pods, pod('a', { nodeName: 'n1' }), pod('a')), []);
  assert.equal(validateUpdate(pods, pod('a', { restartPolicy: 'Never' }), pod('a'))[0]?.field, 'spec');
  const d = (app: string) => ({ metadata: { name: 'd' }, spec: { selector: { matchLabels: { app } } } });
  assert.match(validateUpdate(deploy, d('y'), d('x'))[0]?.message ?? '', /field is immutable/);
});

test('update rules by kind: a Job selector once set, a Service address, immutable data', async () => {
  const { validateUpdate } = await import('./validate.js');
  const jobs = reg.get('batch', 'v1', 'jobs');
  const services = reg.get('', 'v1', 'services');
  const configMaps = reg.get('', 'v1', 'configmaps');
  assert.ok(jobs && services && configMaps);
  const job = (selector?: unknown) => ({
    metadata: { name: 'j' },
    spec: { ...(selector ? { selector } : {}) },
  });
  assert.deepEqual(validateUpdate(jobs, job({ matchLabels: { a: 'b' } }), job()), []);
  assert.equal(
    validateUpdate(jobs, job({ matchLabels: { a: 'c' } }), job({ matchLabels: { a: 'b' } }))[0]?.field,
    'spec.selector',
  );
  const svc = (clusterIP: string) => ({ metadata: { name: 's' }, spec: { clusterIP } });
  assert.equal(validateUpdate(services, svc('10.43.0.9'), svc('10.43.0.8'))[0]?.field, 'spec.clusterIPs[0]');
  const cm = (v: string, immutable?: boolean) => ({
    metadata: { name: 'c' },
    data: { k: v },
    ...(immutable ? { immutable } : {}),
  });
  assert.deepEqual(validateUpdate(configMaps, cm('2'), cm('1')), []);
  assert.equal(validateUpdate(configMaps, cm('2', true), cm('1', true))[0]?.reason, 'FieldValueForbidden');
});
