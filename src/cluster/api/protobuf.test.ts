// Protobuf request bodies as kubectl's typed client writes them, built field by field here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
