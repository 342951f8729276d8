import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusMatches } from './pod-status.js';

const running = {
  phase: 'Running',
  podIP: '10.42.0.5',
  containerStatuses: [
    { name: 'main', ready: true, state: { running: { startedAt: '2026-12-01T10:00:00Z' } } },
  ],
  conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-12-01T10:00:01Z' }],
};

test('a stored status matches what was written whatever the order of its keys', () => {
  const stored = {
    containerStatuses: [
      { state: { running: { startedAt: '2026-12-01T10:00:00Z' } }, ready: true, name: 'main' },
    ],
    podIP: '10.42.0.5',
    phase: 'Running',
    // Fields the agent does not write, and a condition's other time, do not count.
    qosClass: 'BestEffort',
    conditions: [{ status: 'True', type: 'Ready', lastTransitionTime: '2026-12-01T10:00:09Z' }],
  };
  assert.ok(statusMatches(stored, running));
  assert.equal(statusMatches(undefined, running), false);
});

test('any difference in a written field, nested or in a list, is a mismatch', () => {
  const with_ = (patch: Record<string, unknown>) => ({ ...running, ...patch });
  assert.equal(statusMatches(with_({ podIP: '10.42.0.6' }), running), false);
  assert.equal(statusMatches(with_({ containerStatuses: [] }), running), false);
  assert.equal(
    statusMatches(
      with_({ containerStatuses: [{ name: 'main', ready: false, state: { running: {} } }] }),
      running,
    ),
    false,
  );
  assert.equal(
    statusMatches(
      with_({ containerStatuses: [{ ...running.containerStatuses[0], restartCount: 1 }] }),
      running,
    ),
    false,
  );
  assert.equal(statusMatches(with_({ conditions: [{ type: 'Ready', status: 'False' }] }), running), false);
  assert.equal(statusMatches(with_({ podIP: ['10.42.0.5'] }), running), false);
  assert.equal(statusMatches(with_({ podIP: { ip: '10.42.0.5' } }), running), false);
});

test('as JSON: a key holding undefined is no key, undefined is null, but null is not a missing key', () => {
  assert.ok(statusMatches({ phase: 'Pending' }, { phase: 'Pending', message: undefined }));
  assert.ok(statusMatches({ phase: 'Pending', hostIP: null }, { phase: 'Pending', hostIP: undefined }));
  assert.ok(statusMatches({ a: [null] }, { a: [undefined] }));
  assert.ok(statusMatches({ a: { b: 1 } }, { a: { b: 1, c: undefined } }));
  assert.equal(statusMatches({ a: { b: 1 } }, { a: { b: 1, c: null } }), false);
  assert.equal(statusMatches({ a: { b: 1, c: null } }, { a: { b: 1 } }), false);
});
