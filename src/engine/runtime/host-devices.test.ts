import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { privilegedDevices } from './host-devices.js';

// Reference: Docker's --privileged gives the container every device of the host's /dev
// (oci.HostDevices), leaving out what the runtime sets up itself (pts, shm, mqueue, console).
test("privileged devices are the host's /dev nodes with their numbers, without the runtime's own", () => {
  const all = privilegedDevices();
  const nul = all.find((d) => d.path === '/dev/null');
  assert.deepEqual(nul && { type: nul.type, major: nul.major, minor: nul.minor }, {
    type: 'c',
    major: 1,
    minor: 3,
  });
  assert.ok(!all.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console'));
  if (existsSync('/dev/zero'))
    assert.ok(!privilegedDevices(['/dev/zero']).some((d) => d.path === '/dev/zero'));
});
