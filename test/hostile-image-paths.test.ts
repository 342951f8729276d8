/**
 * An image that points its paths at the host, on real containers (runc): what the engine
 * reads from the image on the host side (a named volume's first fill, the passwd lookup of
 * `-u name`) is resolved inside the image's root, never through its symlinks to host paths.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unpackBusybox } from './helpers/busybox-image.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('hostile image paths', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;
  let host: string;
  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
    // The "host" folder the image aims at, absolute, outside its root.
    host = join(box.dir, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'secret'), 'host secret\n');
    writeFileSync(join(host, 'passwd'), 'hostonly:x:4242:4242::/:/bin/sh\n');
  });
  after(() => box.cleanup());

  it("a named volume's first fill does not follow the image's mount point to a host folder", async () => {
    symlinkSync(host, join(rootfs, 'data'));
    const vol = box.name('vol');
    await box.ok(['volume', 'create', vol]);
    const [info] = JSON.parse(await box.ok(['volume', 'inspect', vol])) as { Mountpoint: string }[];
    await box.ok(['run', '--rm', '--network', 'none', '-v', `${vol}:/data`, '--rootfs', rootfs, 'true']);
    assert.deepEqual(readdirSync(info!.Mountpoint), []);
    rmSync(join(rootfs, 'data'));
  });

  it("-u name is looked up in the image's passwd, not in the host file its symlink names", async () => {
    rmSync(join(rootfs, 'etc/passwd'));
    symlinkSync(join(host, 'passwd'), join(rootfs, 'etc/passwd'));
    const r = await box.berth([
      'run',
      '--rm',
      '--network',
      'none',
      '-u',
      'hostonly',
      '--rootfs',
      rootfs,
      'id',
      '-u',
    ]);
    assert.notEqual(r.code, 0, `ran as ${r.stdout}`);
    assert.match(r.stderr, /hostonly/);
  });
});
