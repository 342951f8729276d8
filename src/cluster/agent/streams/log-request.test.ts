import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logRequest } from './log-request.js';

test('log options from the query: tail, since (seconds or time), timestamps, limit', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  assert.deepEqual(
    logRequest(
      new URLSearchParams('follow=true&tailLines=5&sinceSeconds=60&timestamps=true&limitBytes=10'),
      now,
    ),
    { follow: true, tail: 5, since: now - 60_000, timestamps: true, limitBytes: 10 },
  );
  assert.deepEqual(logRequest(new URLSearchParams('sinceTime=2026-01-01T00:00:00Z'), now), {
    follow: false,
    since: Date.parse('2026-01-01T00:00:00Z'),
  });
  assert.deepEqual(logRequest(new URLSearchParams('tailLines=-1&limitBytes=x&sinceTime=soon'), now), {
    follow: false,
  });
});
