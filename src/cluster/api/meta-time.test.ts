import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metaMicroTime, metaTime } from './meta-time.js';

test('a Kubernetes timestamp is RFC 3339 to the second, from milliseconds or a Date', () => {
  const at = Date.UTC(2026, 10, 30, 20, 31, 5, 678);
  assert.equal(metaTime(at), '2026-11-30T20:31:05Z');
  assert.equal(metaTime(new Date(at)), '2026-11-30T20:31:05Z');
  assert.match(metaTime(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('a MicroTime has six fraction digits', () => {
  assert.equal(metaMicroTime(Date.UTC(2026, 10, 30, 20, 31, 5, 678)), '2026-11-30T20:31:05.678000Z');
});
