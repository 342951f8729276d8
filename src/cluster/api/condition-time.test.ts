import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transitionTime } from './condition-time.js';

test('a condition keeps its transition time while its status stays, and takes now when it changes', () => {
  const now = '2026-11-30T20:40:00Z';
  const was = { status: 'True', lastTransitionTime: '2026-11-30T20:00:00Z' };
  assert.equal(transitionTime(was, 'True', now), '2026-11-30T20:00:00Z');
  assert.equal(transitionTime(was, 'False', now), now);
  assert.equal(transitionTime(undefined, 'True', now), now);
  assert.equal(transitionTime({ status: 'True' }, 'True', now), now);
});
