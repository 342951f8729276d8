import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from '../../api/status.js';
import { apiAccessMountPath, serviceAccountAdmission } from './service-account.js';
import { pod, request, storeWith } from './test-request.js';

const sa = (name: string, extra: Record<string, unknown> = {}) =>
  ['serviceaccounts', { metadata: { name, namespace: 'ns' }, ...extra }] as [string, never];

test('a pod runs as default and gets the projected API access volume in every container', async () => {
  const plugin = serviceAccountAdmission(await storeWith([sa('default')]));
  const p = pod('p', [{ name: 'a' }, { name: 'b' }], { initContainers: [{ name: 'i' }] });
  await plugin.admit?.(request('pods', p));
  const spec = p.spec as {
    serviceAccountName: string;
    volumes: { name: string; projected: { sources: Record<string, unknown>[] } }[];
    containers: { volumeMounts: unknown[] }[];
    initContainers: { volumeMounts: unknown[] }[];
  };
  assert.equal(spec.serviceAccountName, 'default');
  const vol = spec.volumes[0];
  assert.match(vol?.name ?? '', /^kube-api-access-[a-z0-9]{5}$/);
  assert.deepEqual(vol?.projected.sources[0], {
    serviceAccountToken: { expirationSeconds: 3607, path: 'token' },
  });
  assert.deepEqual(vol?.projected.sources[1], {
    configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
  });
  const mount = { name: vol?.name, readOnly: true, mountPath: apiAccessMountPath };
  for (const c of [...spec.containers, ...spec.initContainers]) assert.deepEqual(c.volumeMounts, [mount]);
});

test('automountServiceAccountToken false on the account or the pod leaves the pod without the volume', async () => {
  const plugin = serviceAccountAdmission(
    await storeWith([sa('quiet', { automountServiceAccountToken: false }), sa('default')]),
  );
  const a = pod('a', [{ name: 'c' }], { serviceAccountName: 'quiet' });
  await plugin.admit?.(request('pods', a));
  assert.equal((a.spec as { volumes?: unknown }).volumes, undefined);
  const b = pod('b', [{ name: 'c' }], { automountServiceAccountToken: false });
  await plugin.admit?.(request('pods', b));
  assert.equal((b.spec as { volumes?: unknown }).volumes, undefined);
  // The pod's own true wins over the account's false.
  const c = pod('c', [{ name: 'c' }], { serviceAccountName: 'quiet', automountServiceAccountToken: true });
  await plugin.admit?.(request('pods', c));
  assert.equal((c.spec as { volumes: unknown[] }).volumes.length, 1);
});

test('a pod naming a missing ServiceAccount is refused with upstream message', async () => {
  const plugin = serviceAccountAdmission(await storeWith([sa('default')]));
  await assert.rejects(
    plugin.admit?.(
      request('pods', pod('p', [{ name: 'c' }], { serviceAccountName: 'ghost' })),
    ) as Promise<void>,
    (e: ApiError) =>
      e.httpCode === 403 &&
      e.message ===
        'pods "p" is forbidden: error looking up service account ns/ghost: serviceaccount "ghost" not found',
  );
});

test("a pod without imagePullSecrets gets its account's", async () => {
  const plugin = serviceAccountAdmission(
    await storeWith([sa('default', { imagePullSecrets: [{ name: 'reg' }] })]),
  );
  const p = pod('p', [{ name: 'c' }]);
  await plugin.admit?.(request('pods', p));
  assert.deepEqual((p.spec as { imagePullSecrets: unknown }).imagePullSecrets, [{ name: 'reg' }]);
  const own = pod('q', [{ name: 'c' }], { imagePullSecrets: [{ name: 'mine' }] });
  await plugin.admit?.(request('pods', own));
  assert.deepEqual((own.spec as { imagePullSecrets: unknown }).imagePullSecrets, [{ name: 'mine' }]);
});
