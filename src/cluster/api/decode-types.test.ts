import assert from 'node:assert/strict';
import { test } from 'node:test';
import { typeMismatch } from './decode-types.js';
import { kindType } from './schema.js';

const deployment = kindType('apps', 'v1', 'Deployment') ?? 'Deployment';
const configMap = kindType('', 'v1', 'ConfigMap') ?? 'ConfigMap';
const pod = kindType('', 'v1', 'Pod') ?? 'Pod';

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
