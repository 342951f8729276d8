// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not template placeholders
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandWord, expandWords, splitKeepingQuotes } from './words.js';

const vars = new Map([
  ['A', 'alpha'],
  ['EMPTY', ''],
  ['SP', 'x y'],
]);

test('plain names and braces expand; unset names are empty', () => {
  assert.equal(expandWord('$A', vars), 'alpha');
  assert.equal(expandWord('${A}bet', vars), 'alphabet');
  assert.equal(expandWord('$Abet', vars), '');
  assert.equal(expandWord('$NOPE-x', vars), '-x');
});

test('default and alternative forms follow the shell (colon tests empty too)', () => {
  assert.equal(expandWord('${NOPE:-def}', vars), 'def');
  assert.equal(expandWord('${EMPTY:-def}', vars), 'def');
  assert.equal(expandWord('${EMPTY-def}', vars), '');
  assert.equal(expandWord('${NOPE-def}', vars), 'def');
  assert.equal(expandWord('${A:-def}', vars), 'alpha');
  assert.equal(expandWord('${A:+alt}', vars), 'alt');
  assert.equal(expandWord('${EMPTY:+alt}', vars), '');
  assert.equal(expandWord('${EMPTY+alt}', vars), 'alt');
  assert.equal(expandWord('${NOPE:+alt}', vars), '');
  assert.equal(expandWord('${NOPE:-$A}', vars), 'alpha', 'the word is expanded too');
  assert.equal(expandWord('${NOPE:-${A:+nested}}', vars), 'nested');
});

test('${V:?msg} fails with the message when unset', () => {
  assert.throws(() => expandWord('${NOPE:?must be set}', vars), /NOPE: must be set/);
  assert.equal(expandWord('${A:?x}', vars), 'alpha');
});

test('quotes: single quotes are literal, double quotes expand, both are removed', () => {
  assert.equal(expandWord("'$A'", vars), '$A');
  assert.equal(expandWord('"$A b"', vars), 'alpha b');
  assert.equal(expandWord('"say \\"hi\\""', vars), 'say "hi"');
  assert.equal(expandWord('"a\\b"', vars), 'a\\b', 'a backslash before an ordinary character stays');
  assert.equal(expandWord('\\$A', vars), '$A');
  assert.equal(expandWord('a$', vars), 'a$');
});

test('a backtick escape (escape=`) replaces the backslash', () => {
  assert.equal(expandWord('`$A', vars, '`'), '$A');
  assert.equal(expandWord('c:\\dir', vars, '`'), 'c:\\dir');
});

test('errors: bad substitutions and unclosed quotes', () => {
  assert.throws(() => expandWord('${', vars), /bad substitution/);
  assert.throws(() => expandWord('${A', vars), /unsupported modifier|missing/);
  assert.throws(() => expandWord('${A:-x', vars), /missing '}'/);
  assert.throws(() => expandWord('${A%x}', vars), /unsupported modifier \(%\)/);
  assert.throws(() => expandWord('"open', vars), /double-quote/);
  assert.throws(() => expandWord("'open", vars), /single-quote/);
});

test('words split on unquoted white space, and unquoted expansions split too', () => {
  assert.deepEqual(expandWords('a  b "c d" $A', vars), ['a', 'b', 'c d', 'alpha']);
  assert.deepEqual(expandWords('$SP "$SP"', vars), ['x', 'y', 'x y']);
  assert.deepEqual(expandWords('$NOPE a ""', vars), ['a', '']);
});

test('splitKeepingQuotes keeps quotes for a later expansion', () => {
  assert.deepEqual(splitKeepingQuotes('a="b c" d=e\\ f'), ['a="b c"', 'd=e\\ f']);
  assert.deepEqual(splitKeepingQuotes("k='v w'"), ["k='v w'"]);
  assert.throws(() => splitKeepingQuotes('a="b'), /matching "/);
});
