// Protobuf request bodies as kubectl's typed client writes them: some built field by field
// here (an independent check of the table's field numbers), others encoded from JSON by the
// table and decoded back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindMessage, protoMessage } from './k8s-proto.js';
import { decodeProtobuf } from './protobuf.js';

const varint = (n: number): Buffer => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
/** A length-delimited field (string, bytes or message). */
const ld = (no: number, v: Buffer | string) => {
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
};
/** A varint field (int, bool). */
const vi = (no: number, n: number) => Buffer.concat([varint(no << 3), varint(n)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), ld(1, msg(ld(1, apiVersion), ld(2, kind))), ld(2, raw)]);

test('DeleteOptions (drain and kubectl delete): policy, preconditions and a zero grace period', () => {
  const raw = msg(vi(1, 0), ld(2, msg(ld(1, 'uid-1'))), ld(4, 'Foreground'), ld(5, 'All'));
  assert.deepEqual(decodeProtobuf(envelope('v1', 'DeleteOptions', raw)), {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    gracePeriodSeconds: 0,
    preconditions: { uid: 'uid-1' },
    propagationPolicy: 'Foreground',
    dryRun: ['All'],
  });
});

test('an Eviction carries the pod name and its DeleteOptions', () => {
  const raw = msg(ld(1, msg(ld(1, 'web-1'), ld(3, 'default'))), ld(2, msg(vi(1, 30))));
  assert.deepEqual(decodeProtobuf(envelope('policy/v1', 'Eviction', raw)), {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: 'web-1', namespace: 'default' },
    deleteOptions: { gracePeriodSeconds: 30 },
  });
});

test("an Ingress rule's value is inlined beside its host, as in JSON", () => {
  const backend = msg(ld(4, msg(ld(1, 'svc'), ld(2, msg(vi(2, 80))))));
  const path = msg(ld(1, '/api'), ld(2, backend), ld(3, 'Prefix'));
  const rule = msg(ld(1, 'web.example'), ld(2, msg(ld(1, msg(ld(1, path))))));
  const raw = msg(ld(1, msg(ld(1, 'ing'))), ld(2, msg(ld(3, rule))));
  assert.deepEqual(decodeProtobuf(envelope('networking.k8s.io/v1', 'Ingress', raw)).spec, {
    rules: [
      {
        host: 'web.example',
        http: {
          paths: [
            { path: '/api', backend: { service: { name: 'svc', port: { number: 80 } } }, pathType: 'Prefix' },
          ],
        },
      },
    ],
  });
});

test('a PodDisruptionBudget keeps an int or a percentage', () => {
  const intOrString = (v: number | string) =>
    typeof v === 'number' ? msg(vi(1, 0), vi(2, v)) : msg(vi(1, 1), ld(3, v));
  const raw = msg(ld(1, msg(ld(1, 'pdb'))), ld(2, msg(ld(1, intOrString('50%')), ld(2, msg()))));
  assert.deepEqual(decodeProtobuf(envelope('policy/v1', 'PodDisruptionBudget', raw)).spec, {
    minAvailable: '50%',
    selector: {},
  });
});

/** One value of type `t` as field `no`, as Go's generated marshallers write it. */
function encodeField(no: number, v: unknown, t: string): Buffer {
  switch (t) {
    case 'string':
      return ld(no, String(v));
    case 'bytes':
      return ld(no, Buffer.from(String(v), 'base64'));
    case 'int':
      return vi(no, Number(v));
    case 'bool':
      return vi(no, v ? 1 : 0);
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      return Buffer.concat([varint((no << 3) | 1), b]);
    }
    case 'meta.v1.Time':
      return ld(no, vi(1, Date.parse(String(v)) / 1000));
    case 'resource.Quantity':
      return ld(no, ld(1, String(v)));
    case 'intstr.IntOrString':
      return ld(no, typeof v === 'number' ? msg(vi(1, 0), vi(2, v)) : msg(vi(1, 1), ld(3, String(v))));
    case 'runtime.RawExtension':
    case 'apiextensions.v1.JSON':
      return ld(no, ld(1, JSON.stringify(v)));
  }
  const m = protoMessage(t);
  const only = m && m.byNumber.size === 1 ? [...m.byNumber.values()][0] : undefined;
  if (only?.wraps) return ld(no, msg(...(v as unknown[]).map((x) => ld(only.no, String(x)))));
  return ld(no, encodeMessage(v as Record<string, unknown>, t));
}

/** A JSON object as the protobuf message `name`, by the table's field numbers. */
function encodeMessage(o: Record<string, unknown>, name: string): Buffer {
  const m = protoMessage(name);
  assert.ok(m, `no message ${name}`);
  const parts: Buffer[] = [];
  for (const f of m.byNumber.values()) {
    if (f.inline) {
      parts.push(ld(f.no, encodeMessage(o, f.type)));
      continue;
    }
    const v = o[f.name];
    if (v === undefined) continue;
    if (f.type.startsWith('[]'))
      for (const x of v as unknown[]) parts.push(encodeField(f.no, x, f.type.slice(2)));
    else if (f.type.startsWith('{}'))
      for (const [k, x] of Object.entries(v as object))
        parts.push(ld(f.no, msg(ld(1, k), encodeField(2, x, f.type.slice(2)))));
    else parts.push(encodeField(f.no, v, f.type));
  }
  return msg(...parts);
}

const roundTrip = (o: Record<string, unknown> & { apiVersion: string; kind: string }) => {
  const name = kindMessage(o.apiVersion, o.kind);
  assert.ok(name, `no message for ${o.apiVersion} ${o.kind}`);
  const { apiVersion, kind, ...body } = o;
  assert.deepEqual(decodeProtobuf(envelope(apiVersion, kind, encodeMessage(body, name))), o);
};

test('round trip: a Deployment with containers, env, ports, resources, probes and volumes', () =>
  roundTrip({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { a: 'b' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: ['sh', '-c', 'sleep 1d'],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '100m' } },
              readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }],
          securityContext: { runAsUser: 0, supplementalGroups: [1, 2] },
        },
      },
    },
  }));

test('round trip: a CronJob, a ResourceQuota, a PriorityClass of value 0 and a SubjectAccessReview', () => {
  roundTrip({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick' },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: {
        metadata: {},
        spec: {
          backoffLimit: 0,
          template: {
            metadata: {},
            spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
    },
  });
  roundTrip({
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'q' },
    spec: { hard: { pods: '2', 'requests.cpu': '1' }, scopes: ['BestEffort'] },
  });
  roundTrip({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'p' }, value: 0 });
  roundTrip({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: {},
    spec: {
      user: 'alice',
      groups: ['dev'],
      extra: { scopes: ['a', 'b'] },
      resourceAttributes: { verb: 'get' },
    },
  });
});

test('round trip: a CustomResourceDefinition with a nested schema', () =>
  roundTrip({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { plural: 'widgets', kind: 'Widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  'x-kubernetes-preserve-unknown-fields': true,
                  properties: { size: { type: 'integer', minimum: 1, default: 3 } },
                },
              },
            },
          },
        },
      ],
    },
  }));

test("Go's zero values: omitted where JSON omits them, kept for pointers", () => {
  // DeploymentSpec: replicas (pointer) 0, minReadySeconds 0 and paused false (values).
  const raw = msg(ld(1, msg(ld(1, 'd'), ld(3, ''))), ld(2, msg(vi(1, 0), vi(5, 0), vi(7, 0))));
  assert.deepEqual(decodeProtobuf(envelope('apps/v1', 'Deployment', raw)), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { replicas: 0 },
  });
});

test('every option kind decodes in any group version; an unknown kind is a 415', () => {
  assert.deepEqual(decodeProtobuf(envelope('apps/v1', 'DeleteOptions', msg(ld(4, 'Orphan')))), {
    apiVersion: 'apps/v1',
    kind: 'DeleteOptions',
    propagationPolicy: 'Orphan',
  });
  assert.throws(() => decodeProtobuf(envelope('example.com/v1', 'Widget', msg())), { httpCode: 415 });
});
