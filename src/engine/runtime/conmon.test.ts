import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logfmtMessage, RUNTIME_START_FAILED, runtimeCreateError } from './conmon.js';

describe('runtimeCreateError', () => {
  it("keeps runc's message without its logfmt wrapper, with Docker's exit statuses", () => {
    const notFound = runtimeCreateError(
      'time="2026-11-30T20:18:27Z" level=error msg="runc create failed: unable to start container process: exec: \\"nosuchcmd\\": executable file not found in $PATH"',
    );
    assert.equal(notFound.exitCode, 127);
    assert.equal(
      notFound.message,
      'Cannot start the container: the command was not found in the image (runc create failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH)',
    );
    assert.equal(runtimeCreateError('exec: "/etc/passwd": permission denied').exitCode, 126);
    const cwd = runtimeCreateError(
      'exec failed: unable to start container process: chdir to cwd ("/nonexist") set in config.json failed: no such file or directory',
    );
    assert.equal(cwd.exitCode, 126);
    assert.match(cwd.message, /working directory cannot be entered/);
    assert.equal(runtimeCreateError('something else').exitCode, 125);
  });

  it("gives crun's words the same statuses", () => {
    const notFound = runtimeCreateError(
      'executable file `nosuch` not found in $PATH: No such file or directory',
    );
    assert.equal(notFound.exitCode, 127);
    assert.match(notFound.message, /command was not found in the image \(executable file `nosuch`/);
    assert.equal(runtimeCreateError('open executable: Operation not permitted').exitCode, 126);
    assert.equal(runtimeCreateError('chdir `/nope`: No such file or directory').exitCode, 126);
    for (const m of [
      'executable file `x` not found in $PATH',
      'open executable: Permission denied',
      'chdir `/a`: x',
    ])
      assert.match(m, RUNTIME_START_FAILED);
    assert.doesNotMatch('ls: /x: No such file or directory', RUNTIME_START_FAILED);
  });

  it('leaves text that is not a logfmt line as it is', () => {
    assert.equal(logfmtMessage('plain text'), 'plain text');
  });
});
