import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { checkHostPath } from './host-path.js';

const base = tempDir('host-path-');

test('OrCreate types make what is missing; the others name the path of the wrong kind', () => {
  checkHostPath(join(base, 'a/b'), 'DirectoryOrCreate');
  assert.equal(statSync(join(base, 'a/b')).isDirectory(), true);
  checkHostPath(join(base, 'a/f'), 'FileOrCreate');
  assert.equal(statSync(join(base, 'a/f')).isFile(), true);
  assert.throws(() => checkHostPath(join(base, 'missing/f'), 'FileOrCreate'), /could not be created/);
  writeFileSync(join(base, 'file'), '');
  checkHostPath(join(base, 'file'), 'File');
  checkHostPath(base, 'Directory');
  checkHostPath('/dev/null', 'CharDevice');
  assert.throws(
    () => checkHostPath(join(base, 'file'), 'Directory'),
    /hostPath type check failed: .*\/file is not a directory/,
  );
  assert.throws(() => checkHostPath(join(base, 'file'), 'DirectoryOrCreate'), /is not a directory/);
  assert.throws(() => checkHostPath(base, 'File'), /is not a file/);
  assert.throws(() => checkHostPath(join(base, 'file'), 'Socket'), /is not a socket file/);
  assert.throws(() => checkHostPath('/dev/null', 'BlockDevice'), /is not a block device/);
  assert.throws(() => checkHostPath(join(base, 'nothing'), 'Directory'), /does not exist/);
  assert.throws(() => checkHostPath(base, 'Dir'), /hostPath type "Dir"/);
  checkHostPath(join(base, 'nothing'), '');
});
