import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { until } from '../../../test/helpers/until.js';
import { startPidHolder, stopPidHolder } from './pid-holder.js';

test('a PID namespace holder starts in a namespace of its own and ends when stopped, even at once', {
  skip: process.getuid?.() !== 0,
}, async () => {
  const pid = await startPidHolder();
  assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
  // Stopped before the shell has become catatonit: still ours, still ended.
  stopPidHolder(pid);
  await until('the holder is gone', async () => !existsSync(`/proc/${pid}`));
  // A pid that is not a holder's (this process's own) is left alone.
  stopPidHolder(process.pid);
});
