import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { copyFolderOutOfRoot, readFileInRoot, readHead } from './in-root.js';

const dir = tempDir('berth-in-root-');

// A "host" folder outside the root, holding what a hostile image tries to reach.
const host = join(dir, 'host');
mkdirSync(host);
writeFileSync(join(host, 'passwd'), 'root:x:0:0:HOST SECRET:/root:/bin/sh\n');

describe('readFileInRoot', () => {
  test("reads the root's own file", () => {
    const root = join(dir, 'plain');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'app:x:1000:1000::/:/bin/sh\n');
    assert.match(readFileInRoot(root, '/etc/passwd'), /^app:/);
    assert.equal(readFileInRoot(root, '/etc/group'), '');
  });
  test('an /etc that is a symlink to a host folder is resolved inside the root', () => {
    const root = join(dir, 'etc-link');
    mkdirSync(root);
    symlinkSync(host, join(root, 'etc'));
    assert.equal(readFileInRoot(root, '/etc/passwd'), '');
    const up = join(dir, 'etc-up');
    mkdirSync(up);
    symlinkSync('../../../../../../..'.concat(host), join(up, 'etc'));
    assert.equal(readFileInRoot(up, '/etc/passwd'), '');
  });
  test('a passwd that is a symlink out of the root is not followed out', () => {
    const root = join(dir, 'passwd-link');
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync(join(host, 'passwd'), join(root, 'etc/passwd'));
    assert.equal(readFileInRoot(root, '/etc/passwd'), '');
  });
  test('a FIFO is not opened and a big file is read only up to the limit', () => {
    const root = join(dir, 'special');
    mkdirSync(join(root, 'etc'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'etc/group')]);
    assert.equal(readFileInRoot(root, '/etc/group'), '');
    writeFileSync(join(root, 'etc/passwd'), 'x'.repeat(5000));
    assert.equal(readFileInRoot(root, '/etc/passwd', 100).length, 100);
  });
});

describe('readHead', () => {
  test('reads a file whole past its first buffer, and one whose size reads 0 (a /proc file)', () => {
    const big = join(dir, 'big');
    const text = 'line\n'.repeat(20_000);
    writeFileSync(big, text);
    assert.equal(readHead(big, 1 << 20), text);
    assert.equal(readHead(big, 70_000), text.slice(0, 70_000));
    assert.equal(readHead('/proc/self/cmdline', 1 << 20), readFileSync('/proc/self/cmdline', 'utf8'));
    // Several times the first buffer, from a file whose size reads 0.
    assert.equal(readHead('/proc/kallsyms', 50_000), readFileSync('/proc/kallsyms', 'utf8').slice(0, 50_000));
  });
});

describe('copyFolderOutOfRoot', () => {
  test('a mount point that is a symlink to a host folder copies nothing from the host', () => {
    for (const [name, target] of [
      ['abs', host],
      ['rel', `../../../../../../..${host}`],
    ]) {
      const root = join(dir, `vol-${name}`);
      const dest = join(dir, `vol-${name}-data`);
      mkdirSync(root);
      mkdirSync(dest);
      symlinkSync(target!, join(root, 'data'));
      assert.equal(copyFolderOutOfRoot(root, '/data', dest), false);
      assert.deepEqual(readdirSync(dest), []);
    }
  });
  test('copies the folder with its owner and mode; a symlink inside stays a symlink', () => {
    const root = join(dir, 'vol-ok');
    const dest = join(dir, 'vol-ok-data');
    mkdirSync(join(root, 'srv/data/sub'), { recursive: true, mode: 0o750 });
    writeFileSync(join(root, 'srv/data/sub/f'), 'hello');
    symlinkSync('/etc', join(root, 'srv/data/etc'));
    // The mount point reached through an in-root symlink, as the container sees it.
    symlinkSync('/srv/data', join(root, 'data'));
    execFileSync('chown', ['1234:5678', join(root, 'srv/data')]);
    execFileSync('chmod', ['0750', join(root, 'srv/data')]);
    mkdirSync(dest);
    assert.equal(copyFolderOutOfRoot(root, '/data', dest), true);
    assert.deepEqual(readdirSync(dest).sort(), ['etc', 'sub']);
    assert.equal(readlinkSync(join(dest, 'etc')), '/etc');
    const st = lstatSync(dest);
    assert.equal(st.uid, 1234);
    assert.equal(st.gid, 5678);
    assert.equal(st.mode & 0o7777, 0o750);
  });
  test('an empty or missing folder copies nothing', () => {
    const root = join(dir, 'vol-empty');
    mkdirSync(join(root, 'data'), { recursive: true });
    const dest = join(dir, 'vol-empty-data');
    mkdirSync(dest);
    assert.equal(copyFolderOutOfRoot(root, '/data', dest), false);
    assert.equal(copyFolderOutOfRoot(root, '/missing', dest), false);
  });
});
