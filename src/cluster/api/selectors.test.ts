import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldMatcher, labelMatcher, parseLabelSelector, selectorMatcher } from './selectors.js';

const obj = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'a', namespace: 'ns1', labels },
  ...extra,
});

test('label selector operators', () => {
  const o = obj({ app: 'web', tier: 'fe' });
  assert.equal(labelMatcher('app=web')(o), true);
  assert.equal(labelMatcher('app==web,tier=fe')(o), true);
  assert.equal(labelMatcher('app!=web')(o), false);
  assert.equal(labelMatcher('app in (db, web)')(o), true);
  assert.equal(labelMatcher('app notin (db,web)')(o), false);
  assert.equal(labelMatcher('tier')(o), true);
  assert.equal(labelMatcher('!tier')(o), false);
  assert.equal(labelMatcher('missing!=x')(o), true);
  assert.equal(labelMatcher('')(o), true);
});

test('bad label selector is a 400 naming the term', () => {
  assert.throws(() => parseLabelSelector('a in b c'), /unable to parse requirement/);
});

test('field selectors', () => {
  const pod = obj({}, { spec: { nodeName: 'n1' }, status: { phase: 'Running' } });
  assert.equal(fieldMatcher('metadata.name=a', 'Pod')(pod), true);
  assert.equal(fieldMatcher('spec.nodeName=n1,status.phase!=Pending', 'Pod')(pod), true);
  assert.equal(fieldMatcher('metadata.namespace=other', 'Pod')(pod), false);
  assert.throws(
    () => fieldMatcher('spec.nodeName=x', 'ConfigMap'),
    /field label not supported: spec.nodeName/,
  );
});

test('structured selectors', () => {
  const m = selectorMatcher({
    matchLabels: { a: '1' },
    matchExpressions: [{ key: 'b', operator: 'Exists' }],
  });
  assert.equal(m({ a: '1', b: 'x' }), true);
  assert.equal(m({ a: '1' }), false);
});
