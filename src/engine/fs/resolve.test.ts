import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { Beneath } from '../snapshot/beneath.js';
import { resolveInRoot } from './resolve.js';

const dir = tempDir('berth-resolve-');

describe('resolveInRoot', () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync('/etc', join(root, 'escape'));
  symlinkSync('../../../../../../..', join(root, 'up'));
  symlinkSync('loop', join(root, 'loop'));
  const resolve = (p: string, follow = true) => {
    const tree = new Beneath(root);
    try {
      return resolveInRoot(tree, p, follow).join('/');
    } finally {
      tree.close();
    }
  };
  test('follows symlinks as the container sees them, never above its root', () => {
    assert.equal(resolve('/bin/sh'), 'usr/bin/sh');
    assert.equal(resolve('/up/etc/passwd'), 'etc/passwd');
    assert.equal(resolve('/../../x'), 'x');
    // An absolute target starts again at the container's root, not the host's.
    assert.equal(resolve('/escape/passwd'), 'etc/passwd');
  });
  test('keeps a symlink at the end when asked to', () => {
    assert.equal(resolve('/bin', false), 'bin');
    assert.equal(resolve('/bin/x', false), 'usr/bin/x');
  });
  test('refuses a symlink loop', () => {
    assert.throws(() => resolve('/loop/x'), /too many levels of symbolic links/);
  });
});
