import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePsOutput, validatePsArgs } from './top-stats.js';

// Reference: moby daemon/top_unix.go (parsePSOutput, validatePSArgs), the daemon behind `docker top`.
test("top keeps ps's columns and the container's rows; the command keeps its spaces", () => {
  const out = [
    'UID          PID    PPID  C STIME TTY          TIME CMD',
    'root           1       0  0 10:00 ?        00:00:01 /sbin/init',
    'root        4242    4200  0 10:01 ?        00:00:00 sh -c sleep 1000',
    'nobody      4243    4242  0 10:01 ?        00:00:00 sleep 1000',
    '',
  ].join('\n');
  const r = parsePsOutput(out, new Set([4242, 4243]));
  assert.deepEqual(r.titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(r.processes, [
    ['root', '4242', '4200', '0', '10:01', '?', '00:00:00', 'sh -c sleep 1000'],
    ['nobody', '4243', '4242', '0', '10:01', '?', '00:00:00', 'sleep 1000'],
  ]);
});

test('top keeps the thread lines (ps m) of a kept process only', () => {
  const out = [
    '  PID TTY      STAT   TIME COMMAND',
    '    1 ?        -      0:01 init',
    '    - -        Ss     0:01 -',
    ' 4242 ?        -      0:00 sh',
    '    - -        S      0:00 -',
  ].join('\n');
  const r = parsePsOutput(out, new Set([4242]));
  assert.deepEqual(r.processes, [
    ['4242', '?', '-', '0:00', 'sh'],
    ['-', '-', 'S', '0:00', '-'],
  ]);
});

test("top refuses output without a PID column and a renamed PID column, in Docker's words", () => {
  assert.throws(
    () => parsePsOutput('USER COMMAND\nroot sh\n', new Set([1])),
    /^.*Couldn't find PID field in ps output$/,
  );
  assert.throws(() => validatePsArgs('-o ppid=PID'), /specifying "ppid=PID" is not allowed/);
  validatePsArgs('-o pid=PID,args');
  validatePsArgs('aux');
});
