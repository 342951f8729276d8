import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFindings } from './decode-types.js';
import { kindType } from './schema.js';

const deployment = kindType('apps', 'v1', 'Deployment') ?? 'Deployment';
const configMap = kindType('', 'v1', 'ConfigMap') ?? 'ConfigMap';
const pod = kindType('', 'v1', 'Pod') ?? 'Pod';
const typeMismatch = (t: string, v: unknown) => decodeFindings(t, v).mismatch;

test('a value of the wrong JSON type is refused with encoding/json wording', () => {
  assert.equal(
    typeMismatch(deployment, { spec: { replicas: '3' } }),
    'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
  );
  assert.equal(
    typeMismatch(configMap, { data: { enabled: true } }),
    'json: cannot unmarshal bool into Go struct field ConfigMap.data of type string',
  );
  assert.match(
    typeMismatch(pod, { spec: { containers: [{ name: 'c', env: [{ name: 'P', value: 8080 }] }] } }) ?? '',
    /cannot unmarshal number into Go struct field EnvVar\.spec\.containers\.env\.value of type string/,
  );
  assert.match(
    typeMismatch(pod, { spec: { containers: {} } }) ?? '',
    /cannot unmarshal object .* of type \[\]/,
  );
});

test('quantities written as numbers, nulls, IntOrString and a status pass', () => {
  const spec = {
    containers: [
      {
        name: 'c',
        resources: { limits: { cpu: 1, memory: 1e8 } },
        ports: [{ containerPort: 80 }],
        readinessProbe: { httpGet: { port: 'http' } },
        livenessProbe: { httpGet: { port: 8080 } },
        args: null,
      },
    ],
    volumes: [{ name: 'v', emptyDir: { sizeLimit: 1000000 } }],
  };
  assert.equal(
    typeMismatch(pod, { metadata: { labels: { a: 'b' } }, spec, status: { phase: 7 } }),
    undefined,
  );
});

test('one walk finds the first wrong type and every unknown field, and prunes only when asked', () => {
  const write = () => ({
    metadata: { name: 'd', labelz: 1 },
    spec: {
      replicas: 'x',
      template: {
        spec: {
          containers: [
            { name: 'a', imagee: 'x' },
            { name: 'b', ports: [{ containerPort: '80', hostPortt: 1 }] },
          ],
        },
      },
      paused: 'no',
    },
    status: { anything: 1 },
  });
  const kept = write();
  assert.deepEqual(decodeFindings(deployment, kept), {
    mismatch: 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    unknown: [
      'metadata.labelz',
      'spec.template.spec.containers[0].imagee',
      'spec.template.spec.containers[1].ports[0].hostPortt',
    ],
  });
  assert.equal(kept.metadata.labelz, 1);
  const pruned = write();
  decodeFindings(deployment, pruned, true);
  assert.deepEqual(pruned.metadata, { name: 'd' });
  assert.deepEqual(pruned.spec.template.spec.containers[1]?.ports, [{ containerPort: '80' }]);
  // The first wrong type in the object's order, a list item's path without its index.
  assert.equal(
    decodeFindings(deployment, { spec: { template: write().spec.template, replicas: 'x' } }).mismatch,
    'json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32',
  );
  assert.deepEqual(decodeFindings(deployment, { spec: { replicas: 1 } }), { unknown: [] });
});
