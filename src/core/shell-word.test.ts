import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { shellWord } from './shell-word.js';

test('shellWord: the shell reads back each word as it was, quotes and metacharacters included', () => {
  for (const w of ['plain', '', "it's", "'", 'a b', '$(id) `x` "q" ; | & \\ *'])
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shellWord(w)}`], { encoding: 'utf8' }), w);
});
