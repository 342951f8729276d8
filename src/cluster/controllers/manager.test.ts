import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controllerTokens, loopIdentity } from '../apiserver/authz/controller-policy.js';
import { controllerNames, parseControllers } from './manager.js';

test('--controllers: all, minus some, none, and unknown names', () => {
  assert.deepEqual([...parseControllers('*')].sort(), [...controllerNames].sort());
  assert.ok(!parseControllers('*,-deployment').has('deployment'));
  assert.ok(parseControllers('*,-deployment').has('scheduler'));
  assert.deepEqual([...parseControllers('')], []);
  assert.deepEqual([...parseControllers('scheduler')], ['scheduler']);
  assert.throws(() => parseControllers('*,-nosuch'), /Unknown controller "nosuch"/);
});

test('every control-plane loop writes as an identity of its own, never as the controller manager', () => {
  for (const name of controllerNames) {
    const id = loopIdentity(name);
    assert.ok(id, `${name} has an identity`);
    assert.notEqual(id.user.name, 'system:kube-controller-manager', name);
  }
  assert.equal(loopIdentity('scheduler')?.user.name, 'system:kube-scheduler');
  // Tokens differ per identity and are derived from the control plane's alone.
  const tokens = controllerTokens('plane-token');
  assert.equal(new Set(tokens.map(([t]) => t)).size, tokens.length);
  assert.ok(tokens.some(([, u]) => u.name === 'system:serviceaccount:kube-system:event-ttl-controller'));
});
