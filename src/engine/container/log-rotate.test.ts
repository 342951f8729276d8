import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { logFiles, shiftLogFiles } from './log-rotate.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-log-rotate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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
