import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDirs } from './make-dirs.js';

test('makeDirs makes missing parents and accepts an existing folder', () => {
  const base = mkdtempSync(join(tmpdir(), 'make-dirs-'));
  try {
    makeDirs(join(base, 'a/b/c'), 0o700);
    assert.ok(statSync(join(base, 'a/b/c')).isDirectory());
    makeDirs(join(base, 'a/b'));
    writeFileSync(join(base, 'f'), '');
    assert.throws(
      () => makeDirs(join(base, 'f/x')),
      /Cannot create folder ".*f\/x": ".*\/f" is not a folder/,
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a folder under /proc fails at once with its name (Node's recursive mkdir loops there)", () => {
  assert.throws(
    () => makeDirs('/proc/berth-no-such/root'),
    /Cannot create folder "\/proc\/berth-no-such\/root": mkdir \/proc\/berth-no-such: no such file or directory/,
  );
});
