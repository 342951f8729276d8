import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { followLog } from '../runtime/k8s-log.js';
import { logFiles, shiftLogFiles, splitRotatedLog } from './log-rotate.js';

const dir = tempDir('berth-log-rotate-');

// Reference: Docker's json-file driver keeps max-file files: the live one and .1 (newest) up to .N-1.
test('rotation keeps max-file files, newest rotated first, and logs reads them oldest first', () => {
  const log = join(dir, 'ctr.log');
  for (let i = 1; i <= 4; i++) {
    writeFileSync(log, `run ${i}\n`);
    shiftLogFiles(log, 3);
  }
  writeFileSync(log, 'live\n');
  assert.deepEqual(logFiles(log), [`${log}.2`, `${log}.1`, log]);
  assert.deepEqual(
    logFiles(log).map((f) => readFileSync(f, 'utf8')),
    ['run 3\n', 'run 4\n', 'live\n'],
  );
  assert.equal(existsSync(`${log}.3`), false);
});

// What came before the monitor's first look is cut as the driver would have rotated it:
// files of at most max-size at line ends, newest in .1, the oldest beyond max-file dropped.
test('an oversized first rotated file is split at line ends, keeping the newest parts', () => {
  const log = join(dir, 'burst.log');
  const lines = Array.from({ length: 10 }, (_, i) => `line ${i} ...\n`); // 12 bytes each
  writeFileSync(`${log}.2`, 'older\n');
  writeFileSync(`${log}.1`, lines.join(''));
  writeFileSync(log, 'live\n');
  splitRotatedLog(log, 30, 4);
  // 30 bytes hold two lines: parts [0,1] [2,3] [4,5] [6,7] [8,9]; three rotated places.
  assert.deepEqual(
    [1, 2, 3].map((i) => readFileSync(`${log}.${i}`, 'utf8')),
    [lines.slice(8).join(''), lines.slice(6, 8).join(''), lines.slice(4, 6).join('')],
  );
  assert.equal(existsSync(`${log}.4`), false);
  assert.equal(readFileSync(log, 'utf8'), 'live\n');
});

test('a split moves older rotated files up while they fit, and keeps a longer line whole', () => {
  const log = join(dir, 'long.log');
  writeFileSync(`${log}.2`, 'older\n');
  writeFileSync(`${log}.1`, `${'x'.repeat(50)}\nshort\n`);
  splitRotatedLog(log, 30, 5);
  assert.deepEqual(
    [1, 2, 3].map((i) => readFileSync(`${log}.${i}`, 'utf8')),
    ['short\n', `${'x'.repeat(50)}\n`, 'older\n'],
  );
  // A file within max-size is left as it is.
  writeFileSync(`${log}.1`, 'small\n');
  splitRotatedLog(log, 30, 5);
  assert.equal(readFileSync(`${log}.1`, 'utf8'), 'small\n');
});

// `logs -f` across the split: what it read of the old file is not read again, and files
// rotated after the split before it looks again are read, in order (k8s-log.ts).
test('a follower of a split file reads nothing twice and misses none rotated after it', () => {
  const log = join(dir, 'follow.log');
  const line = (t: string) => `2026-01-01T00:00:00.1+00:00 stdout F ${t}\n`;
  const early = Array.from({ length: 6 }, (_, i) => `early ${i}`);
  writeFileSync(log, line(early[0]!));
  const got: string[] = [];
  const f = followLog(log, 0, (e) => got.push(e.data.toString().trimEnd()));
  for (const t of early.slice(1)) appendFileSync(log, line(t));
  // The monitor's first look: rotate, then split the oversized file into max-size parts.
  renameSync(log, `${log}.1`);
  writeFileSync(log, line('second'));
  splitRotatedLog(log, line(early[0]!).length * 2, 3);
  // Two more rotations before the follower looks again: the split's parts are gone by then.
  renameSync(`${log}.1`, `${log}.2`);
  renameSync(log, `${log}.1`);
  writeFileSync(log, line('third'));
  renameSync(`${log}.1`, `${log}.2`);
  renameSync(log, `${log}.1`);
  writeFileSync(log, line('live'));
  f.stop();
  assert.deepEqual(got, [...early, 'second', 'third', 'live']);
});

test('a follower that looks right after the split goes on from its newest part', () => {
  const log = join(dir, 'follow2.log');
  const line = (t: string) => `2026-01-01T00:00:00.1+00:00 stdout F ${t}\n`;
  writeFileSync(log, line('a'));
  const got: string[] = [];
  const f = followLog(log, 0, (e) => got.push(e.data.toString().trimEnd()));
  for (const t of ['b', 'c', 'd']) appendFileSync(log, line(t));
  renameSync(log, `${log}.1`);
  writeFileSync(log, line('e'));
  splitRotatedLog(log, line('a').length * 2, 4);
  renameSync(`${log}.2`, `${log}.3`);
  renameSync(`${log}.1`, `${log}.2`);
  renameSync(log, `${log}.1`);
  writeFileSync(log, line('f'));
  f.stop();
  assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e', 'f']);
});
