import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountOf, mountPropagationOf, ociPropagation, parseMountInfo } from './mount-propagation.js';

const info = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:25 / /tmp rw,nosuid - tmpfs tmpfs rw',
  '31 22 8:1 /srv/data /mnt/data rw master:1 - ext4 /dev/sda1 rw',
  '32 22 0:26 / /mnt/with\\040space rw shared:7 - tmpfs tmpfs rw',
].join('\n');

test('the mount holding a path, with its propagation tags', () => {
  const mounts = parseMountInfo(info);
  assert.equal(mountOf('/tmp/x/y', mounts)?.mountPoint, '/tmp');
  assert.equal(mountOf('/tmpfoo', mounts)?.mountPoint, '/');
  assert.deepEqual(mountOf('/mnt/data/a', mounts)?.tags, ['master:1']);
  assert.equal(mountOf('/mnt/with space/z', mounts)?.mountPoint, '/mnt/with space');
});

test('HostToContainer needs a shared or slave mount, Bidirectional a shared one', () => {
  const read = () => info;
  assert.equal(ociPropagation('/var/lib/x', 'HostToContainer', read), 'rslave');
  assert.equal(ociPropagation('/mnt/data/a', 'HostToContainer', read), 'rslave');
  assert.equal(ociPropagation('/var/lib/x', 'Bidirectional', read), 'rshared');
  assert.throws(
    () => ociPropagation('/tmp/x', 'HostToContainer', read),
    /path "\/tmp\/x" is mounted on "\/tmp" but it is not a shared or slave mount/,
  );
  assert.throws(() => ociPropagation('/mnt/data/a', 'Bidirectional', read), /not a shared mount/);
});

test('Bidirectional is for privileged containers only', () => {
  const m = { name: 'v', mountPropagation: 'Bidirectional' };
  assert.equal(mountPropagationOf({ name: 'c', securityContext: { privileged: true } }, m), 'Bidirectional');
  assert.throws(() => mountPropagationOf({ name: 'c' }, m), /available only to privileged containers/);
  assert.equal(mountPropagationOf({ name: 'c' }, { name: 'v' }), 'None');
});
