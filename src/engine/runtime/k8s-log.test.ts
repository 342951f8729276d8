import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogLine, splitLines } from './k8s-log.js';

describe('k8s-file log parsing', () => {
  it('restores newlines for full lines and keeps partial lines', () => {
    const f = parseLogLine(Buffer.from('2026-01-01T00:00:00.1+00:00 stdout F hello world'));
    assert.equal(f?.stream, 'stdout');
    assert.equal(f?.data.toString(), 'hello world\n');
    const p = parseLogLine(Buffer.from('2026-01-01T00:00:00.1+00:00 stderr P part'));
    assert.equal(p?.stream, 'stderr');
    assert.equal(p?.data.toString(), 'part');
    assert.equal(parseLogLine(Buffer.from('2026 stdout F'))?.data.toString(), '\n');
    assert.equal(parseLogLine(Buffer.from('garbage')), undefined);
  });

  it('splits complete lines and keeps the rest', () => {
    const { lines, rest } = splitLines(Buffer.from('a\nb\nc'));
    assert.deepEqual(
      lines.map((l) => l.toString()),
      ['a', 'b'],
    );
    assert.equal(rest.toString(), 'c');
  });
});
