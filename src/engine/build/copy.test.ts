import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { checksumSources, copyInto, type SourceRoot, selectSources } from './copy.js';
import { IgnoreRules } from './dockerignore.js';

const isRoot = process.getuid?.() === 0;
const base = tempDir('berth-build-copy-');
let n = 0;

function tree(files: Record<string, string>): string {
  const dir = join(base, `t${n++}`);
  mkdirSync(dir);
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

const ctx = (dir: string, ignore = ''): SourceRoot => ({
  dir,
  ignore: IgnoreRules.parse(ignore),
  what: 'build context',
});

test('sources: paths climbing out of the context are refused', () => {
  const root = ctx(tree({ a: 'a' }));
  for (const p of ['../x', 'sub/../../x', '..']) {
    assert.throws(() => selectSources(root, [p], 'COPY'), /forbidden path outside the build context/);
  }
  assert.equal(selectSources(root, ['/a'], 'COPY')[0]!.name, 'a', 'an absolute source is context-relative');
});

test('sources: a symlink named as a source resolves inside the context only', () => {
  const outside = join(base, 'outside-file');
  writeFileSync(outside, 'host');
  const dir = tree({ 'real/f': 'inside' });
  symlinkSync(outside, join(dir, 'abs'));
  symlinkSync('real', join(dir, 'rel'));
  symlinkSync('/real', join(dir, 'abs-in'));
  const root = ctx(dir);
  assert.throws(() => selectSources(root, ['abs'], 'COPY'), /file not found in build context/);
  assert.deepEqual(selectSources(root, ['rel'], 'COPY')[0]!.parts, ['real']);
  assert.deepEqual(
    selectSources(root, ['abs-in'], 'COPY')[0]!.parts,
    ['real'],
    'absolute targets restart at the context root',
  );
});

test('sources: wildcards within a component; ignored files are missing', () => {
  const root = ctx(tree({ 'a.txt': '', 'b.txt': '', 'c.md': '', 'd/e.txt': '' }), 'b.txt\n');
  assert.deepEqual(
    selectSources(root, ['*.txt'], 'COPY').map((i) => i.name),
    ['a.txt'],
  );
  assert.throws(() => selectSources(root, ['b.txt'], 'COPY'), /excluded by .dockerignore/);
  assert.throws(() => selectSources(root, ['*.none'], 'COPY'), /no source files were specified/);
});

test('checksum: content, names and modes count; times do not', () => {
  const dir = tree({ 'd/x': 'one', 'd/y': 'two' });
  const root = ctx(dir);
  const sum = () => checksumSources(root, selectSources(root, ['d'], 'COPY'));
  const first = sum();
  utimesSync(join(dir, 'd/x'), new Date(0), new Date(0));
  assert.equal(sum(), first);
  writeFileSync(join(dir, 'd/x'), 'ONE');
  assert.notEqual(sum(), first);
  const ignored = ctx(dir, 'd/y\n');
  assert.notEqual(
    checksumSources(ignored, selectSources(ignored, ['d'], 'COPY')),
    sum(),
    'ignored files are not part of it',
  );
});

test('copyInto: Docker destination rules, owners, modes, links copied as links', {
  skip: !isRoot && 'needs root',
}, () => {
  const src = tree({ 'dir/a': 'A', 'dir/sub/b': 'B', single: 'S' });
  symlinkSync('/etc/passwd', join(src, 'dir', 'link'));
  const root = ctx(src);
  const dest = tree({ 'existing/keep': 'k' });
  copyInto(root, selectSources(root, ['dir'], 'COPY'), dest, '/out', { uid: 1000, gid: 1001 });
  assert.equal(readFileSync(join(dest, 'out/a'), 'utf8'), 'A', "a folder's contents are copied");
  assert.equal(readFileSync(join(dest, 'out/sub/b'), 'utf8'), 'B');
  assert.equal(readlinkSync(join(dest, 'out/link')), '/etc/passwd');
  assert.equal(lstatSync(join(dest, 'out/a')).uid, 1000);
  assert.equal(lstatSync(join(dest, 'out')).gid, 1001, 'made folders get the owner too');
  copyInto(root, selectSources(root, ['single'], 'COPY'), dest, '/existing', { uid: 0, gid: 0, mode: 0o640 });
  assert.equal(
    readFileSync(join(dest, 'existing/single'), 'utf8'),
    'S',
    'into an existing folder, under its own name',
  );
  assert.equal(lstatSync(join(dest, 'existing/single')).mode & 0o777, 0o640);
  copyInto(root, selectSources(root, ['single'], 'COPY'), dest, '/renamed', { uid: 0, gid: 0 });
  assert.equal(readFileSync(join(dest, 'renamed'), 'utf8'), 'S', 'a new name for one file');
  copyInto(
    root,
    [{ name: 'inline.txt', inline: { data: Buffer.from('here'), mode: 0o644 } }],
    dest,
    '/docs/',
    { uid: 0, gid: 0 },
  );
  assert.equal(readFileSync(join(dest, 'docs/inline.txt'), 'utf8'), 'here');
});

test('copyInto: a symlink in the destination root never leads a write out of it', {
  skip: !isRoot && 'needs root',
}, () => {
  const victim = join(base, 'victim');
  mkdirSync(victim);
  const src = tree({ f: 'payload' });
  const dest = tree({});
  symlinkSync(victim, join(dest, 'escape'));
  symlinkSync('../../..', join(dest, 'up'));
  const root = ctx(src);
  copyInto(root, selectSources(root, ['f'], 'COPY'), dest, '/escape/', { uid: 0, gid: 0 });
  copyInto(root, selectSources(root, ['f'], 'COPY'), dest, '/up/f2', { uid: 0, gid: 0 });
  assert.deepEqual(readdirSync(victim), []);
  assert.equal(
    readFileSync(join(dest, victim, 'f'), 'utf8'),
    'payload',
    'the absolute link resolved inside the root',
  );
  assert.equal(readFileSync(join(dest, 'f2'), 'utf8'), 'payload', '.. stops at the root');
});
