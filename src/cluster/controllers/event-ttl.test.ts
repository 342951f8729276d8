import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { EVENT_TTL_MS, expired } from './event-ttl.js';

test('an event expires an hour after it last happened, not after it was first seen', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const ev = (name: string, first: string, last: string): KubeObject => ({
    metadata: { name, namespace: 'default', creationTimestamp: first },
    firstTimestamp: first,
    lastTimestamp: last,
  });
  const items = [
    ev('old', '2026-11-30T10:00:00Z', '2026-11-30T10:30:00Z'),
    ev('repeated', '2026-11-30T10:00:00Z', '2026-11-30T11:30:00Z'),
    ev('new', '2026-11-30T11:59:00Z', '2026-11-30T11:59:00Z'),
  ];
  assert.deepEqual(
    expired(items, now).map((e) => e.metadata.name),
    ['old'],
  );
  assert.equal(EVENT_TTL_MS, 3_600_000);
});
