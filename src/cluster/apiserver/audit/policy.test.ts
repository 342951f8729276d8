import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditAttributes, decide, type Policy, parsePolicy, ruleMatches } from './policy.js';

const admin = { name: 'admin', groups: ['system:masters'] };
const node = { name: 'system:node', groups: ['system:nodes'] };
const res = (
  resource: string,
  extra: Partial<NonNullable<AuditAttributes['resource']>> = {},
  verb = 'get',
  user = admin,
): AuditAttributes => ({
  user,
  verb,
  path: `/api/v1/${resource}`,
  resource: { group: '', version: 'v1', resource, ...extra },
});
const path = (p: string, verb = 'get'): AuditAttributes => ({ user: admin, verb, path: p });

test('users, userGroups and verbs must each match when set', () => {
  assert.ok(ruleMatches({ level: 'Metadata', users: ['admin'] }, res('pods')));
  assert.ok(!ruleMatches({ level: 'Metadata', users: ['bob'] }, res('pods')));
  assert.ok(ruleMatches({ level: 'Metadata', userGroups: ['system:nodes'] }, res('pods', {}, 'get', node)));
  assert.ok(!ruleMatches({ level: 'Metadata', userGroups: ['system:nodes'] }, res('pods')));
  assert.ok(ruleMatches({ level: 'Metadata', verbs: ['watch', 'get'] }, res('pods')));
  assert.ok(!ruleMatches({ level: 'Metadata', verbs: ['create'] }, res('pods')));
});

test('resources: group, subresources, wildcards, resourceNames, namespaces', () => {
  const rule = (resources: string[], extra = {}) => ({
    level: 'Request' as const,
    resources: [{ group: '', resources, ...extra }],
  });
  assert.ok(ruleMatches(rule(['pods']), res('pods')));
  assert.ok(!ruleMatches(rule(['pods']), res('pods', { subresource: 'status' })));
  assert.ok(ruleMatches(rule(['pods/status']), res('pods', { subresource: 'status' })));
  assert.ok(ruleMatches(rule(['*/status']), res('deployments', { subresource: 'status' })));
  assert.ok(ruleMatches(rule(['pods/*']), res('pods', { subresource: 'log' })));
  assert.ok(ruleMatches(rule(['*']), res('secrets')));
  assert.ok(
    !ruleMatches(rule(['*']), {
      ...res('deployments'),
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    }),
  );
  assert.ok(
    ruleMatches(
      { level: 'Request', resources: [{ group: 'apps' }] },
      { ...res('x'), resource: { group: 'apps', version: 'v1', resource: 'x' } },
    ),
  );
  assert.ok(ruleMatches(rule(['secrets'], { resourceNames: ['a'] }), res('secrets', { name: 'a' })));
  assert.ok(!ruleMatches(rule(['secrets'], { resourceNames: ['a'] }), res('secrets', { name: 'b' })));
  assert.ok(
    ruleMatches(
      { level: 'Metadata', namespaces: ['kube-system'] },
      res('pods', { namespace: 'kube-system' }),
    ),
  );
  assert.ok(
    !ruleMatches({ level: 'Metadata', namespaces: ['kube-system'] }, res('pods', { namespace: 'default' })),
  );
  assert.ok(ruleMatches({ level: 'Metadata', namespaces: [''] }, res('nodes')), 'cluster-scoped is ""');
  assert.ok(!ruleMatches(rule(['pods']), path('/version')), 'resource rules skip other paths');
});

test('nonResourceURLs match paths and prefixes, never resource requests', () => {
  const rule = { level: 'Metadata' as const, nonResourceURLs: ['/version', '/api*'] };
  assert.ok(ruleMatches(rule, path('/version')));
  assert.ok(ruleMatches(rule, path('/apis/apps')));
  assert.ok(!ruleMatches(rule, path('/openapi/v3')));
  assert.ok(!ruleMatches(rule, res('pods')));
  assert.ok(ruleMatches({ level: 'Metadata' }, path('/openapi/v3')), 'a rule without lists matches all');
});

test('the first matching rule decides; stages and omitManagedFields combine with the policy', () => {
  const p: Policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    omitManagedFields: true,
    rules: [
      { level: 'None', verbs: ['watch'] },
      {
        level: 'Metadata',
        resources: [{ group: '', resources: ['secrets'] }],
        omitStages: ['ResponseStarted'],
      },
      { level: 'RequestResponse', omitManagedFields: false },
    ],
  };
  assert.equal(decide(p, res('secrets', {}, 'watch')).level, 'None');
  assert.deepEqual(decide(p, res('secrets')), {
    level: 'Metadata',
    omitStages: ['RequestReceived', 'ResponseStarted'],
    omitManagedFields: true,
  });
  assert.deepEqual(decide(p, res('pods')), {
    level: 'RequestResponse',
    omitStages: ['RequestReceived'],
    omitManagedFields: false,
  });
  assert.equal(decide({ ...p, rules: [{ level: 'Metadata', users: ['x'] }] }, res('pods')).level, 'None');
});

test('policy files: YAML read, errors name the field and value', () => {
  const ok = parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n', 'p.yaml');
  assert.equal(ok.rules[0]?.level, 'Metadata');
  assert.throws(
    () => parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n', 'p.yaml'),
    /p\.yaml: rules\[0\]\.level "Everything" is not one of None, Metadata, Request, RequestResponse/,
  );
  assert.throws(
    () =>
      parsePolicy(
        'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Sometimes]\nrules:\n- level: None\n',
        'p.yaml',
      ),
    /unknown stage "Sometimes"/,
  );
  assert.throws(
    () => parsePolicy('apiVersion: v1\nkind: Policy\nrules: []\n', 'p.yaml'),
    /apiVersion is "v1"/,
  );
});
