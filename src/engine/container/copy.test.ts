import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathInRoot } from './copy.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pathInRoot', () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  symlinkSync('/etc', join(root, 'escape'));
  symlinkSync('etc', join(root, 'inside'));
  it('keeps paths inside the root, even with ..', () => {
    assert.equal(pathInRoot(root, '/etc/passwd'), join(root, 'etc/passwd'));
    assert.equal(pathInRoot(root, '../../etc/x'), join(root, 'etc/x'));
    assert.equal(pathInRoot(root, 'inside/y'), join(root, 'inside/y'));
  });
  it('refuses a symlink that leads outside', () => {
    assert.throws(() => pathInRoot(root, '/escape/passwd'), /leads outside the container's root/);
  });
});
