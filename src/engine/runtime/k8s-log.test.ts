import assert from 'node:assert/strict';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { followLog, parseLogLine, splitLines } from './k8s-log.js';

const dir = tempDir('berth-k8s-log-');

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

describe('following a k8s-file log', () => {
  const line = (t: string) => `2026-01-01T00:00:00.1+00:00 stdout F ${t}\n`;
  /** Follows a new log from its start while it gets a second line and is rotated to `.1`. */
  const followRotated = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, line('a'));
    const got: string[] = [];
    const f = followLog(path, 0, (e) => got.push(e.data.toString()));
    appendFileSync(path, line('b'));
    renameSync(path, `${path}.1`);
    return { path, got, stop: () => f.stop() };
  };

  it('reads a rotated file to its end, then goes on in the new one', () => {
    const { path, got, stop } = followRotated('ctr.log');
    // conmon writes to the renamed file until it has reopened its log.
    appendFileSync(`${path}.1`, line('c'));
    writeFileSync(path, line('d'));
    stop();
    assert.deepEqual(got, ['a\n', 'b\n', 'c\n', 'd\n']);
  });

  it('reads a file rotated and rotated again between two looks before the new live one', () => {
    const { path, got, stop } = followRotated('twice.log');
    writeFileSync(path, line('c'));
    // The second rotation comes before the follower looks again: its file is now .2, c's is .1.
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, line('d'));
    stop();
    assert.deepEqual(got, ['a\n', 'b\n', 'c\n', 'd\n']);
  });

  it('reads every file when the one it read was dropped past max-file before it looked', () => {
    const { path, got, stop } = followRotated('dropped.log');
    // Two more rotations with max-file=3: its file (.1, then .2) is gone before the next look.
    for (const t of ['c', 'd']) {
      writeFileSync(path, line(t));
      renameSync(`${path}.1`, `${path}.2`);
      renameSync(path, `${path}.1`);
    }
    writeFileSync(path, line('e'));
    stop();
    assert.deepEqual(got, ['a\n', 'b\n', 'c\n', 'd\n', 'e\n']);
  });

  it('waits out a moment with no live file, and reads the files rotated meanwhile in order', async () => {
    const { path, got, stop } = followRotated('gap.log');
    // The follower looks (its poll) while no file is at the path: nothing to read yet.
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(path, line('c'));
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(path, line('d'));
    stop();
    assert.deepEqual(got, ['a\n', 'b\n', 'c\n', 'd\n']);
  });
});
