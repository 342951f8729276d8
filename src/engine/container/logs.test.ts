import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEntry } from '../runtime/k8s-log.js';
import { dockerTimestamp, parseSince, parseTail, tailEntries } from './logs.js';

const e = (s: string): LogEntry => ({ time: '', stream: 'stdout', data: Buffer.from(s) });

describe('logs options', () => {
  it('tails by lines, keeping partial chunks with their line', () => {
    const entries = [e('a\n'), e('b-'), e('part\n'), e('c\n')];
    const text = (n: number) =>
      tailEntries(entries, n)
        .map((x) => x.data.toString())
        .join('');
    assert.equal(text(1), 'c\n');
    assert.equal(text(2), 'b-part\nc\n');
    assert.equal(text(9), 'a\nb-part\nc\n');
    assert.equal(text(0), '');
  });

  it('parses --since and --tail', () => {
    assert.equal(parseSince('10m', 1_000_000), 400_000);
    assert.equal(parseSince('1700000000'), 1_700_000_000_000);
    assert.equal(parseSince('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T00:00:00Z'));
    assert.throws(() => parseSince('yesterday'), /Invalid --since "yesterday"/);
    assert.equal(parseTail('all'), undefined);
    assert.throws(() => parseTail('x'), /Invalid --tail "x"/);
  });

  it('prints times as docker logs -t does: UTC, nine fraction digits, Z', () => {
    assert.equal(dockerTimestamp('2026-11-30T07:10:00.123456789+01:00'), '2026-11-30T06:10:00.123456789Z');
    assert.equal(dockerTimestamp('2026-11-30T06:10:00.1234Z'), '2026-11-30T06:10:00.123400000Z');
    assert.equal(dockerTimestamp('2026-12-31T23:30:00-01:00'), '2027-01-01T00:30:00.000000000Z');
  });
});
