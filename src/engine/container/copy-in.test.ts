import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Beneath } from '../snapshot/beneath.js';
import { copyIntoRoot, resolveInRoot } from './copy-in.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-copy-in-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A container root whose symlinks point at a host folder, upwards, and in circles. */
function makeRoot(name: string): { root: string; host: string } {
  const root = join(dir, name, 'root');
  const host = join(dir, name, 'host');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(host, { recursive: true });
  writeFileSync(join(host, 'victim'), 'host\n');
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync(host, join(root, 'escape'));
  symlinkSync(join(host, 'victim'), join(root, 'victim'));
  symlinkSync('../../../../../../..', join(root, 'up'));
  symlinkSync('loop', join(root, 'loop'));
  return { root, host };
}

describe('resolveInRoot', () => {
  const { root } = makeRoot('resolve');
  const resolve = (p: string) => {
    const tree = new Beneath(root);
    try {
      return resolveInRoot(tree, p).join('/');
    } finally {
      tree.close();
    }
  };
  test('follows symlinks as the container sees them, never above its root', () => {
    assert.equal(resolve('/bin/sh'), 'usr/bin/sh');
    assert.equal(resolve('/up/etc/passwd'), 'etc/passwd');
    assert.equal(resolve('/../../x'), 'x');
    assert.equal(resolve('/escape/x'), `${join(dir, 'resolve/host').slice(1)}/x`);
  });
  test('refuses a symlink loop', () => {
    assert.throws(() => resolve('/loop/x'), /too many levels of symbolic links/);
  });
});

describe('copyIntoRoot', () => {
  test('writes land inside the root whatever the symlinks say; the host folder is untouched', async () => {
    const { root, host } = makeRoot('copy');
    const src = join(dir, 'copy', 'payload');
    writeFileSync(src, 'payload\n');
    mkdirSync(join(root, host), { recursive: true });
    await copyIntoRoot(src, root, '/escape/x');
    await copyIntoRoot(src, root, '/victim');
    await copyIntoRoot(src, root, '/up/y');
    await copyIntoRoot(src, root, '/bin/');
    assert.equal(readFileSync(join(root, host, 'x'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(root, host, 'victim'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(root, 'y'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(root, 'usr/bin/payload'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(host, 'victim'), 'utf8'), 'host\n');
    assert.equal(existsSync(join(host, 'x')), false);
  });

  test('copies a folder with its symlinks as symlinks, and names a missing parent', async () => {
    const { root } = makeRoot('tree');
    const src = join(dir, 'tree', 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub/f'), 'f');
    symlinkSync('/etc/shadow', join(src, 'link'));
    await copyIntoRoot(src, root, '/opt');
    assert.equal(readFileSync(join(root, 'opt/sub/f'), 'utf8'), 'f');
    assert.equal(readlinkSync(join(root, 'opt/link')), '/etc/shadow');
    await assert.rejects(
      copyIntoRoot(src, root, '/missing/dir/x'),
      /The folder "\/missing\/dir" does not exist/,
    );
  });
});
