import assert from 'node:assert/strict';
import { fstatSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { Beneath } from './beneath.js';

const base = tempDir('berth-beneath-');
const refuse = (why: string) => new Error(why);

function tree(name: string): { root: string; outside: string } {
  const root = join(base, name, 'root');
  const outside = join(base, name, 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  return { root, outside };
}

test('dir creates missing directories and refuses symlinks and files on the way', () => {
  const { root, outside } = tree('walk');
  symlinkSync(outside, join(root, 'link'));
  writeFileSync(join(root, 'file'), '');
  const t = new Beneath(root);
  try {
    const fd = t.dir(['a', 'b'], true, refuse);
    assert.equal(fstatSync(fd).ino, statSync(join(root, 'a', 'b')).ino);
    assert.throws(() => t.dir(['link', 'x'], true, refuse), /"link" is a symlink/);
    assert.throws(() => t.dir(['file', 'x'], true, refuse), /"file" is not a directory/);
    assert.throws(() => t.dir(['nope'], false, refuse), /"nope" does not exist/);
    assert.equal(t.find(['link']), undefined);
    assert.throws(() => t.at(fd, '..'), /not a single path component/);
    assert.throws(() => t.at(fd, 'a/b'), /not a single path component/);
  } finally {
    t.close();
  }
  assert.throws(() => t.dir([], false, refuse), /closed/);
});

test('a forgotten directory fd stays open until trim, then the path is walked again', () => {
  const { root } = tree('forget');
  const t = new Beneath(root);
  try {
    const old = t.dir(['d'], true, refuse);
    rmSync(join(root, 'd'), { recursive: true });
    t.forget('d');
    // Still ours (no other file can take the number yet): it names the removed directory.
    assert.equal(fstatSync(old).nlink, 0);
    t.trim();
    const fresh = t.dir(['d'], true, refuse);
    assert.equal(fstatSync(fresh).ino, statSync(join(root, 'd')).ino);
  } finally {
    t.close();
  }
});

test('trim closes the least recently used fds beyond the cache; their directories reopen', () => {
  const { root } = tree('lru');
  const t = new Beneath(root);
  try {
    // One entry per open fd of this process.
    const count = () => readdirSync('/proc/self/fd').length;
    const before = count();
    for (let i = 0; i < 1500; i++) t.dir([`d${i}`], true, refuse);
    t.trim();
    assert.ok(count() - before < 1500, 'some fds were closed');
    const fd = t.dir(['d0'], false, refuse);
    assert.equal(fstatSync(fd).ino, statSync(join(root, 'd0')).ino);
  } finally {
    t.close();
  }
});
