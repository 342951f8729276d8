import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { openHighWater, readHighWater } from './high-water.js';

const dir = tempDir('berth-hwm-');

/** Spoils one 4 KiB slot, as a torn write would. */
function spoil(path: string, slot: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from('torn'), 0, 4, slot * 4096 + 8);
  closeSync(fd);
}

test('the record reads back the highest revision written, 0 when absent, made 0600', () => {
  const path = join(dir, 'a');
  assert.equal(readHighWater(path), 0);
  const hw = openHighWater(path, 7);
  assert.equal(readHighWater(path), 7);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  for (const r of [8, 9, 2 ** 33 + 5]) hw.record(r);
  hw.close();
  assert.equal(readHighWater(path), 2 ** 33 + 5);
});

test('a torn slot falls back to the previous revision; two are an error naming the file', () => {
  const path = join(dir, 'b');
  const hw = openHighWater(path, 0);
  hw.record(10); // slot 0
  hw.record(11); // slot 1
  hw.close();
  spoil(path, 1);
  assert.equal(readHighWater(path), 10);
  spoil(path, 0);
  assert.throws(
    () => readHighWater(path),
    (e: Error) => e.message.includes(`record ${path} is damaged`),
  );
});
