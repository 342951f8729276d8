import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTimeZone, nextTime, parseSchedule } from './cron.js';

const at = (s: string) => Date.parse(s);
const next = (sched: string, after: string, zone?: string) => {
  const t = nextTime(parseSchedule(sched), at(after), zone);
  return t === undefined ? undefined : new Date(t).toISOString();
};

test('cron: fields, steps, ranges, names, macros', () => {
  assert.equal(next('*/15 * * * *', '2026-11-22T10:07:30Z'), '2026-11-22T10:15:00.000Z');
  assert.equal(next('0 9-17/4 * * MON-FRI', '2026-11-21T00:00:00Z'), '2026-11-23T09:00:00.000Z');
  assert.equal(next('@monthly', '2026-11-22T00:00:00Z'), '2026-12-01T00:00:00.000Z');
  assert.equal(next('30 2 * JAN,jul *', '2026-11-22T00:00:00Z'), '2027-01-01T02:30:00.000Z');
  assert.equal(next('0 0 * * 7', '2026-11-22T00:00:00Z'), '2026-11-29T00:00:00.000Z', '7 is Sunday too');
  // Both day fields restricted: either matches (the 1st, or any Friday).
  assert.equal(next('0 0 1 * FRI', '2026-11-22T00:00:00Z'), '2026-11-27T00:00:00.000Z');
  assert.equal(next('0 0 30 2 *', '2026-01-01T00:00:00Z'), undefined);
});

test('cron: time zones, and errors that name the problem', () => {
  // 09:00 in New York is 14:00 UTC in winter.
  assert.equal(next('0 9 * * *', '2026-11-22T12:00:00Z', 'America/New_York'), '2026-11-22T14:00:00.000Z');
  assert.throws(() => parseSchedule('* * *'), /expected 5 fields/);
  assert.throws(() => parseSchedule('61 * * * *'), /Invalid minute range "61"/);
  assert.throws(() => parseSchedule('TZ=UTC * * * * *'), /spec.timeZone/);
  assert.throws(() => checkTimeZone('Mars/Olympus'), /Invalid time zone "Mars\/Olympus"/);
});
