// The built-in types' schemas as kubectl reads them from a real `berth server`: explain of deep
// fields with Kubernetes' descriptions (OpenAPI v3, and v2 as gnostic protobuf), strict
// validation at any depth, server-side apply merging list items by their keys, and typed
// creates that kubectl sends as protobuf.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

describe('built-in schemas through kubectl', () => {
  let c: TestCluster;
  const ok = (args: string[], input?: string) => c.ok(args, input);
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

  test('explain describes fields whose type is another type, through OpenAPI v3 and v2', async () => {
    const res = await ok(['explain', 'pod.spec.containers.resources']);
    assert.match(res, /FIELD:\s+resources <ResourceRequirements>/);
    assert.match(res, /Compute Resources required by this container/);
    assert.match(
      await ok(['explain', 'deployment.spec.template']),
      /Template describes the pods that will be created/,
    );
    // kubectl reads v2 only as gnostic protobuf: this explain must decode it.
    const v2 = await ok(['explain', '--output=plaintext-openapiv2', 'deployment.spec.strategy']);
    assert.match(v2, /RESOURCE:\s+strategy <Object>/);
    assert.match(v2, /The deployment strategy to use to replace existing pods with new ones/);
    assert.match(v2, /rollingUpdate\s+<Object>/);
  });

  test('/openapi/v2 as JSON carries every definition with its kind and list-map keys', async () => {
    const tls = join(c.dataDir, 'tls');
    const r = await run('curl', [
      '-sf',
      '--cacert',
      join(tls, 'ca.crt'),
      '--cert',
      join(tls, 'admin.crt'),
      '--key',
      join(tls, 'admin.key'),
      `https://127.0.0.1:${c.port}/openapi/v2`,
    ]);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.swagger, '2.0');
    const d = doc.definitions['io.k8s.api.apps.v1.Deployment'];
    assert.deepEqual(d['x-kubernetes-group-version-kind'], [
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    assert.equal(d.properties.spec.$ref, '#/definitions/io.k8s.api.apps.v1.DeploymentSpec');
    const ports = doc.definitions['io.k8s.api.core.v1.Container'].properties.ports;
    assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
    assert.equal(ports['x-kubernetes-patch-merge-key'], 'containerPort');
    assert.ok(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch);
  });

  test('server-side apply: two field managers add env entries to one container', async () => {
    const cfg = (container: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: two}
spec:
  selector: {matchLabels: {app: two}}
  template:
    metadata: {labels: {app: two}}
    spec:
      containers:
      - ${container}
`;
    await ok(
      ['apply', '--server-side', '--field-manager=a', '-f', '-'],
      cfg('{name: main, image: busybox:1.36, env: [{name: A, value: "1"}]}'),
    );
    await ok(
      ['apply', '--server-side', '--field-manager=b', '-f', '-'],
      cfg('{name: main, env: [{name: B, value: "2"}]}'),
    );
    const d = JSON.parse(await ok(['get', 'deploy', 'two', '-o', 'json', '--show-managed-fields']));
    assert.deepEqual(d.spec.template.spec.containers[0].env, [
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    const owned = (m: string) =>
      JSON.stringify(d.metadata.managedFields.find((e: { manager: string }) => e.manager === m).fieldsV1);
    assert.match(owned('a'), /"k:\{\\"name\\":\\"A\\"\}"/);
    assert.match(owned('b'), /"k:\{\\"name\\":\\"B\\"\}"/);
    assert.doesNotMatch(owned('b'), /\\"A\\"/);
    // An image a owns is b's conflict, named by the container's key as upstream names it.
    const clash = await c.kubectl(['apply', '--server-side', '--field-manager=b', '-f', '-'], {
      input: cfg('{name: main, image: nginx, env: [{name: B, value: "2"}]}'),
    });
    assert.notEqual(clash.code, 0);
    assert.match(
      clash.stderr,
      /conflict with "a" using apps\/v1: \.spec\.template\.spec\.containers\[name="main"\]\.image/,
    );
    // a drops its entry: b's stays.
    await ok(
      ['apply', '--server-side', '--field-manager=a', '-f', '-'],
      cfg('{name: main, image: busybox:1.36}'),
    );
    assert.equal(
      await ok(['get', 'deploy', 'two', '-o', 'jsonpath={.spec.template.spec.containers[0].env}']),
      '[{"name":"B","value":"2"}]',
    );
  });

  test('typed creates that kubectl sends as protobuf', async () => {
    const sent = async (args: string[]) => {
      // Before the arguments: some end with `-- COMMAND`.
      const r = await c.kubectl(['-v=8', ...args]);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      assert.match(
        r.stderr,
        /Content-Type: application\/vnd\.kubernetes\.protobuf/,
        `${args.join(' ')} sent protobuf`,
      );
      assert.doesNotMatch(r.stderr, / 415 /, `${args.join(' ')} was decoded, not refused`);
    };
    const get = async (what: string, path: string) =>
      ok(['get', ...what.split(' '), '-o', `jsonpath=${path}`]);
    await ok(['create', 'namespace', 'pb']);
    await sent([
      '-n',
      'pb',
      'create',
      'cronjob',
      'tick',
      '--image=busybox',
      '--schedule=*/5 * * * *',
      '--',
      'date',
    ]);
    assert.equal(
      await get(
        '-n pb cronjob tick',
        '{.spec.schedule} {.spec.jobTemplate.spec.template.spec.containers[0].command}',
      ),
      '*/5 * * * * ["date"]',
    );
    await sent(['-n', 'pb', 'create', 'job', 'once', '--image=busybox', '--', 'true']);
    assert.equal(await get('-n pb job once', '{.spec.template.spec.restartPolicy}'), 'Never');
    await sent([
      '-n',
      'pb',
      'create',
      'poddisruptionbudget',
      'pdb',
      '--selector=app=x',
      '--min-available=50%',
    ]);
    assert.equal(
      await get('-n pb pdb pdb', '{.spec.minAvailable} {.spec.selector.matchLabels.app}'),
      '50% x',
    );
    await sent(['-n', 'pb', 'create', 'quota', 'q', '--hard=pods=3', '--scopes=BestEffort']);
    assert.equal(await get('-n pb quota q', '{.spec.hard.pods} {.spec.scopes}'), '3 ["BestEffort"]');
    await sent(['-n', 'pb', 'create', 'ingress', 'ing', '--class=web', '--rule=a.example/*=svc:8080']);
    assert.equal(
      await get(
        '-n pb ingress ing',
        '{.spec.ingressClassName} {.spec.rules[0].http.paths[0].backend.service.port.number}',
      ),
      'web 8080',
    );
    await sent(['create', 'priorityclass', 'pb-high', '--value=1000', '--preemption-policy=Never']);
    assert.equal(await get('priorityclass pb-high', '{.value} {.preemptionPolicy}'), '1000 Never');
    await sent(['-n', 'pb', 'create', 'service', 'nodeport', 'np', '--tcp=80:8080']);
    assert.equal(await get('-n pb svc np', '{.spec.type} {.spec.ports[0].targetPort}'), 'NodePort 8080');
    await sent(['-n', 'pb', 'create', 'role', 'r', '--verb=get', '--resource=pods']);
    assert.equal(await get('-n pb role r', '{.rules[0].verbs}'), '["get"]');
  });
});
