import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { writeAtomic } from './atomic-writer.js';
import type { Payload } from './payload.js';

const base = tempDir('atomic-writer-');

const payload = (files: Record<string, string>, mode = 0o644): Payload =>
  new Map(Object.entries(files).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));

test('files appear through ..data; an update swaps the whole version and drops removed names', () => {
  const dir = join(base, 'cm');
  assert.equal(
    writeAtomic(dir, payload({ a: '1', 'sub/b': '2' }), { now: new Date(Date.UTC(2026, 10, 30, 7, 24, 33)) }),
    true,
  );
  const first = readlinkSync(join(dir, '..data'));
  assert.match(first, /^\.\.2026_11_30_07_24_33\./);
  assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
  assert.equal(readlinkSync(join(dir, 'sub')), '..data/sub');
  assert.equal(readFileSync(join(dir, 'sub/b'), 'utf8'), '2');

  assert.equal(writeAtomic(dir, payload({ a: '1', 'sub/b': '2' })), false, 'the same files write nothing');
  assert.equal(readlinkSync(join(dir, '..data')), first);

  assert.equal(writeAtomic(dir, payload({ a: 'changed' })), true);
  assert.notEqual(readlinkSync(join(dir, '..data')), first);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'changed');
  assert.deepEqual(readdirSync(dir).sort(), ['..data', readlinkSync(join(dir, '..data')), 'a'].sort());
});

test('modes are kept exactly; a changed mode alone is an update', () => {
  const dir = join(base, 'modes');
  writeAtomic(dir, payload({ key: 's' }, 0o400));
  assert.equal(lstatSync(join(dir, '..data', 'key')).mode & 0o7777, 0o400);
  assert.equal(writeAtomic(dir, payload({ key: 's' }, 0o440)), true);
  assert.equal(lstatSync(join(dir, '..data', 'key')).mode & 0o7777, 0o440);
});

test('with an fsGroup, files are group-readable and folders setgid, owned by that group', {
  skip: process.getuid?.() !== 0,
}, () => {
  const dir = join(base, 'fsgroup');
  writeAtomic(dir, payload({ 'x/key': 's' }, 0o400), { gid: 1234 });
  const f = lstatSync(join(dir, '..data', 'x', 'key'));
  assert.equal(f.mode & 0o7777, 0o440);
  assert.equal(f.gid, 1234);
  const d = lstatSync(join(dir, '..data', 'x'));
  assert.equal(d.mode & 0o2000, 0o2000);
  assert.equal(d.gid, 1234);
});

test('paths that could leave the volume are refused', () => {
  for (const bad of ['../x', '/etc/x', 'a/../../x', '..x'])
    assert.throws(() => writeAtomic(join(base, 'bad'), payload({ [bad]: '1' })), /invalid path/);
});

test('a ..data planted to point out of the volume is refused: nothing outside is read or removed', () => {
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep'), 'host file');
  for (const target of ['../outside', outside]) {
    const dir = join(base, `planted-${target.length}`);
    mkdirSync(dir);
    symlinkSync(target, join(dir, '..data'));
    assert.throws(() => writeAtomic(dir, payload({ a: '1' })), /"\.\.data" points to .*not a version folder/);
  }
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'host file');
});
