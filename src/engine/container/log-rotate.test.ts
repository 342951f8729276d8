import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
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
