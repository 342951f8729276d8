import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneFilters } from './prune-filters.js';

const hourAgo = new Date(Date.now() - 3_600_000 - 1000).toISOString();
const now = new Date().toISOString();

test('until keeps what was created after the time', () => {
  const { match } = pruneFilters({ until: ['1h'] }, ['until']);
  assert.equal(match({ created: hourAgo, labels: {} }), true);
  assert.equal(match({ created: now, labels: {} }), false);
});

test('label and label! select by key or key=value', () => {
  const { match } = pruneFilters({ label: ['a'], 'label!': ['b=2'] }, ['label', 'label!']);
  assert.equal(match({ created: now, labels: { a: '1' } }), true);
  assert.equal(match({ created: now, labels: { a: '1', b: '2' } }), false);
  assert.equal(match({ created: now, labels: { a: '1', b: '3' } }), true);
  assert.equal(match({ created: now, labels: {} }), false);
});

test('dangling=false wins over the true the CLI adds; unknown keys are refused', () => {
  assert.equal(pruneFilters({ dangling: ['true', 'false'] }, ['dangling']).dangling, false);
  assert.equal(pruneFilters({ dangling: ['true'] }, ['dangling']).dangling, true);
  assert.throws(() => pruneFilters({ colour: ['red'] }, ['until']), /Invalid filter 'colour'/);
  assert.throws(() => pruneFilters({ until: ['soon'] }, ['until']), /Invalid filter 'until=soon'/);
});
