import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusCause } from './status.js';
import { validatePodSeccomp } from './validate-seccomp.js';

const causesOf = (spec: Record<string, unknown>) => {
  const causes: StatusCause[] = [];
  validatePodSeccomp(spec, 'spec', causes);
  return causes.map((c) => `${c.field}: ${c.message}`);
};
const withProfile = (seccompProfile: unknown) => ({
  containers: [{ name: 'c', image: 'x', securityContext: { seccompProfile } }],
});

test('a Localhost seccomp profile is a relative path without ..', () => {
  assert.deepEqual(causesOf(withProfile({ type: 'Localhost', localhostProfile: 'profiles/audit.json' })), []);
  assert.deepEqual(causesOf(withProfile({ type: 'Localhost', localhostProfile: '../../etc/shadow' })), [
    `spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "../../etc/shadow": must not contain '..'`,
  ]);
  assert.deepEqual(
    causesOf({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '/etc/shadow' } } }),
    [
      'spec.securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/shadow": must be a relative path',
    ],
  );
  assert.deepEqual(causesOf(withProfile({ type: 'Localhost' })), [
    'spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost',
  ]);
});

test('the type is one of three, and only Localhost takes a profile path', () => {
  assert.deepEqual(causesOf(withProfile({ type: 'RuntimeDefault' })), []);
  assert.deepEqual(causesOf(withProfile({ type: 'Strict' })), [
    'spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"',
  ]);
  assert.deepEqual(causesOf(withProfile({})), [
    'spec.containers[0].securityContext.seccompProfile.type: Required value',
  ]);
  assert.deepEqual(causesOf(withProfile({ type: 'Unconfined', localhostProfile: 'x.json' })), [
    'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "x.json": can only be set when seccomp type is Localhost',
  ]);
});
