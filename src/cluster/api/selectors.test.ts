import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fieldMatcher,
  labelMatcher,
  labelSelectorText,
  parseLabelSelector,
  selectorMatcher,
} from './selectors.js';

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

test('a structured selector as text: sorted by key, expressions as upstream writes them, empty for none', () => {
  assert.equal(labelSelectorText(undefined), '');
  assert.equal(labelSelectorText({ matchLabels: {} }), '');
  assert.equal(
    labelSelectorText({
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'c', operator: 'NotIn', values: ['y', 'x'] },
        { key: 'aa', operator: 'Exists' },
      ],
    }),
    'a=1,aa,b=2,c notin (x,y)',
  );
  // What it writes, the selector parser reads back (an HPA lists the target's pods by it).
  const m = labelMatcher(
    labelSelectorText({ matchExpressions: [{ key: 'c', operator: 'In', values: ['x', 'y'] }] }),
  );
  assert.ok(m({ metadata: { labels: { c: 'y' } } }));
  assert.ok(!m({ metadata: { labels: { c: 'z' } } }));
});
