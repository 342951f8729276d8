// The built-in types' schemas as kubectl reads them from a real `berth server`: explain of deep
// fields with Kubernetes' descriptions, strict validation at any depth, and server-side apply
// merging list items by their keys.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

describe('built-in schemas through kubectl', () => {
  let c: TestCluster;
  const ok = async (args: string[], input?: string) => {
    const r = await c.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    c = await startCluster(undefined, { controllers: 'namespace,serviceaccount' });
  });
  after(() => c?.box.cleanup());

  test('explain reaches every field, with descriptions', async () => {
    const caps = await ok(['explain', 'pod.spec.containers.securityContext.capabilities.add']);
    assert.match(caps, /FIELD:\s+add <\[\]string>/);
    assert.match(caps, /Added capabilities/);
    const deploy = await ok(['explain', 'deployment.spec.strategy.rollingUpdate']);
    assert.match(deploy, /maxSurge\s+<string>/);
    assert.match(deploy, /Spec to control the desired behavior of rolling update/);
    const cron = await ok(['explain', 'cronjob.spec']);
    assert.match(cron, /concurrencyPolicy\s+<string>/);
    assert.match(cron, /jobTemplate\s+<JobTemplateSpec> -required-/);
    const ingress = await ok(['explain', 'ingress.spec.rules.http.paths.backend.service.port']);
    assert.match(ingress, /number\s+<integer>/);
    assert.match(await ok(['explain', 'pod']), /Pod is a collection of containers/);
  });

  test('--validate=strict refuses an unknown field deep in a StatefulSet', async () => {
    const sts = (field: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  serviceName: db
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: busybox:1.36}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
      ${field}
`;
    const bad = await c.kubectl(['apply', '--validate=strict', '-f', '-'], {
      input: sts('storageClasName: fast'),
    });
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /StatefulSet in version "v1" cannot be handled as a StatefulSet: strict decoding error: unknown field "spec.volumeClaimTemplates\[0\].spec.storageClasName"/,
    );
    assert.equal((await c.kubectl(['get', 'sts', 'db'])).code, 1);
    await ok(['apply', '--validate=strict', '-f', '-'], sts('storageClassName: fast'));
    // Under Warn (kubectl's default without --validate) the field is named and dropped.
    const warned = await c.kubectl(['apply', '--validate=warn', '-f', '-'], {
      input: sts('storageClasName: fast').replace('name: db', 'name: db2'),
    });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /unknown field "spec.volumeClaimTemplates\[0\].spec.storageClasName"/);
  });

  test('a YAML body repeating a key is refused under Strict and warned of otherwise', async () => {
    const tls = join(c.dataDir, 'tls');
    const post = (validation: string, name: string) =>
      run('curl', [
        '-s',
        '-D',
        '-',
        '--cacert',
        join(tls, 'ca.crt'),
        '--cert',
        join(tls, 'admin.crt'),
        '--key',
        join(tls, 'admin.key'),
        '-H',
        'Content-Type: application/yaml',
        '--data-binary',
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n  a: "2"\n`,
        `https://127.0.0.1:${c.port}/api/v1/namespaces/default/configmaps?fieldValidation=${validation}`,
      ]);
    const strict = await post('Strict', 'dup-strict');
    assert.match(strict.stdout, /HTTP\/1.1 400/);
    assert.match(
      strict.stdout,
      /ConfigMap in version \\"v1\\" cannot be handled as a ConfigMap: strict decoding error: line 7: key \\"a\\" already set in map/,
    );
    const warned = await post('Warn', 'dup-warn');
    assert.match(warned.stdout, /HTTP\/1.1 201/);
    assert.match(warned.stdout, /Warning: 299 - "line 7: key \\"a\\" already set in map"/);
    assert.equal((await ok(['get', 'cm', 'dup-warn', '-o', 'jsonpath={.data.a}'])).trim(), '2');
  });
});
