import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logfmtMessage, runtimeCreateError } from './conmon.js';

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

  it('leaves text that is not a logfmt line as it is', () => {
    assert.equal(logfmtMessage('plain text'), 'plain text');
  });
});
