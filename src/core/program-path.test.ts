import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { forgetProgramPath, programPath } from './program-path.js';

test('a program is found in the first PATH folder that holds an executable file of its name', () => {
  const dir = tempDir('berth-program-path-');
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  for (const d of [a, b]) mkdirSync(d);
  writeFileSync(join(a, 'prog'), 'not executable');
  mkdirSync(join(a, 'other')); // a folder is not a program
  writeFileSync(join(b, 'prog'), '#!/bin/sh\n');
  chmodSync(join(b, 'prog'), 0o755);
  mkdirSync(join(b, 'other'));
  const path = `${join(dir, 'missing')}:${a}:${b}`;
  assert.equal(programPath('prog', path), join(b, 'prog'));
  assert.equal(programPath('other', path), 'other');
  assert.equal(programPath('nosuch', path), 'nosuch');
  assert.equal(programPath('/bin/sh', path), '/bin/sh');
  // Kept until forgotten, then searched again.
  rmSync(join(b, 'prog'));
  assert.equal(programPath('prog', path), join(b, 'prog'));
  forgetProgramPath('prog', path);
  assert.equal(programPath('prog', path), 'prog');
});

test('from a relative PATH entry on, the search is left to the program start', () => {
  assert.equal(programPath('sh', `.:/usr/bin:/bin`), 'sh');
  assert.equal(programPath('sh', `:/usr/bin:/bin`), 'sh');
  assert.match(programPath('sh', '/nonexistent:/usr/bin:/bin'), /^\/(usr\/)?bin\/sh$/);
});
