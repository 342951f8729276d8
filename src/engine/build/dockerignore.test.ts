import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IgnoreRules } from './dockerignore.js';

const rules = (text: string) => IgnoreRules.parse(text);

test('a name matches itself and everything below it', () => {
  const r = rules('node_modules\n# a comment\n\n/build/\n');
  assert.ok(r.ignores('node_modules'));
  assert.ok(r.ignores('node_modules/x/y.js'));
  assert.ok(r.ignores('build/out.o'));
  assert.ok(!r.ignores('src/node_modules_x'));
  assert.ok(!r.ignores('src/node_modules/x'), 'a pattern is anchored at the context root');
});

test('* and ? stay within one component; ** crosses any number', () => {
  const r = rules('*.log\ndocs/?.md\n**/*.tmp\na/**/z\n');
  assert.ok(r.ignores('x.log'));
  assert.ok(!r.ignores('dir/x.log'));
  assert.ok(r.ignores('docs/a.md'));
  assert.ok(!r.ignores('docs/ab.md'));
  assert.ok(r.ignores('t.tmp'));
  assert.ok(r.ignores('deep/er/t.tmp'));
  assert.ok(r.ignores('a/z'));
  assert.ok(r.ignores('a/b/c/z'));
  assert.ok(!r.ignores('a/b/c/zz'));
});

test('! exceptions: the last matching pattern wins', () => {
  const r = rules('*.md\n!README*.md\nREADME-secret.md\n');
  assert.ok(r.ignores('CHANGES.md'));
  assert.ok(!r.ignores('README.md'));
  assert.ok(r.ignores('README-secret.md'));
  assert.ok(r.hasExclusions);
});

test('an exception can bring back a file inside an ignored folder', () => {
  const r = rules('docs\n!docs/keep.txt\n');
  assert.ok(r.ignores('docs/other.txt'));
  assert.ok(!r.ignores('docs/keep.txt'));
});

test('** alone ignores everything; exceptions then pick files back', () => {
  const r = rules('**\n!src\n');
  assert.ok(r.ignores('a'));
  assert.ok(!r.ignores('src'));
  assert.ok(!r.ignores('src/main.c'));
});

test('classes and escapes', () => {
  const r = rules('file[0-9].txt\n\\*star\n[!a]x\n');
  assert.ok(r.ignores('file3.txt'));
  assert.ok(!r.ignores('fileA.txt'));
  assert.ok(r.ignores('*star'));
  assert.ok(!r.ignores('xstar'));
  assert.ok(r.ignores('bx'));
  assert.ok(!r.ignores('ax'));
});

test('patterns are cleaned: ./a, a/../b, trailing slashes', () => {
  const r = rules('./a\nx/../b\nc/\n');
  assert.ok(r.ignores('a'));
  assert.ok(r.ignores('b'));
  assert.ok(r.ignores('c/d'));
  assert.ok(!r.ignores('x'));
});

test('a lone ! is refused', () => {
  assert.throws(() => rules('!\n'), /illegal exclusion pattern/);
});
