/**
 * `berth diff`, `berth commit` and `berth cp` into a container, end to end through bin/berth
 * on the real runtime: what a container changed is listed as Docker lists it, becomes an
 * image that another container sees (deletions included), and a copy into a container never
 * follows the container's symlinks out of its root. The runtime's mount points (Docker's init
 * layer) are neither listed nor committed nor built into a layer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { run } from '../src/core/exec.js';
import { importBusybox } from './helpers/busybox-image.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('commit, diff and cp', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  const ok = (args: string[]) => box.ok(args);

  before(async () => {
    box = await sandbox(undefined);
    await importBusybox(box, 'bb:base');
  });
  after(() => box.cleanup());

  it('diff lists the changes; commit makes an image that sees them, deletions included', async () => {
    const name = box.name('changer');
    const script = [
      'echo hi > /etc/motd',
      'rm /etc/group',
      'mkdir -p /srv/app',
      'echo v1 > /srv/app/config',
      'ln /srv/app/config /srv/app/config.hard',
      'ln -s /srv/app/config /srv/link',
      'echo root2 >> /etc/passwd',
    ].join(' && ');
    await ok(['run', '--name', name, '--network', 'none', 'bb:base', 'sh', '-c', script]);
    assert.equal(
      await ok(['diff', name]),
      [
        'C /etc',
        'D /etc/group',
        'A /etc/motd',
        'C /etc/passwd',
        'A /srv',
        'A /srv/app',
        'A /srv/app/config',
        'A /srv/app/config.hard',
        'A /srv/link',
        '',
      ].join('\n'),
    );
    assert.equal(await ok(['container', 'diff', name]), await ok(['diff', name]));
    const id = (
      await ok([
        'commit',
        '-a',
        'Ann <ann@example.com>',
        '-m',
        'add motd',
        '-c',
        'ENV STAGE=two',
        '-c',
        'CMD ["cat", "/etc/motd"]',
        name,
        'bb:two',
      ])
    ).trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    const [info] = JSON.parse(await ok(['image', 'inspect', 'bb:two'])) as {
      Id: string;
      Author: string;
      Comment: string;
      Config: { Cmd: string[]; Env: string[] };
      RootFS: { Layers: string[] };
    }[];
    assert.equal(info?.Id, id);
    assert.equal(info?.Author, 'Ann <ann@example.com>');
    assert.equal(info?.Comment, 'add motd');
    assert.deepEqual(info?.Config.Cmd, ['cat', '/etc/motd']);
    assert.ok(info?.Config.Env.includes('STAGE=two'));
    assert.equal(info?.RootFS.Layers.length, 2);

    assert.equal(await ok(['run', '--rm', '--network', 'none', 'bb:two']), 'hi\n');
    const seen = await ok([
      'run',
      '--rm',
      '--network',
      'none',
      'bb:two',
      'sh',
      '-c',
      'test ! -e /etc/group && echo gone; tail -1 /etc/passwd; cat /srv/link; stat -c %h /srv/app/config; echo $STAGE',
    ]);
    assert.equal(seen, 'gone\nroot2\nv1\n2\ntwo\n');

    // The container's snapshot goes with it; the image's layers stay.
    await ok(['rm', name]);
    const snapshots = readdirSync(join(box.root, 'snapshots'));
    assert.deepEqual(
      snapshots.filter((n) => n.startsWith('k-') || n.startsWith('tmp-')),
      [],
    );
    assert.equal(snapshots.length, 2);
  });

  it("leaves the runtime's mount points out of diff, commit and build on an image without /dev, /proc, /sys or /etc", async () => {
    // busybox alone: runc makes /dev, /proc, /sys and Berth /etc (for hosts, hostname, resolv.conf).
    const rootfs = join(box.dir, 'bare');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
    for (const applet of ['sh', 'mkdir', 'touch', 'ls']) symlinkSync('busybox', join(rootfs, 'bin', applet));
    await run('tar', ['-C', rootfs, '-cf', `${rootfs}.tar`, '.']);
    await ok(['import', `${rootfs}.tar`, 'bare:1']);
    const name = box.name('bare');
    const bind = join(box.dir, 'bound');
    mkdirSync(bind);
    // A bind on a folder the image lacks (/mnt) makes /mnt for it: not the container's change either.
    await ok([
      'run',
      '--name',
      name,
      '--network',
      'none',
      '-v',
      `${bind}:/mnt/b`,
      'bare:1',
      'sh',
      '-c',
      'mkdir /data && touch /data/f /etc/own',
    ]);
    // Docker lists /etc as changed: its init layer holds it.
    assert.equal(await ok(['diff', name]), 'A /data\nA /data/f\nC /etc\nA /etc/own\n');
    await ok(['commit', name, 'bare:2']);
    assert.deepEqual(await topLayerNames('bare:2'), ['data/', 'data/f', 'etc/', 'etc/own']);
    // A built layer is the same, and the step's snapshot the next step mounts holds only it.
    const ctx = join(box.dir, 'bare-ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM bare:1\nRUN mkdir /built\nRUN ls -d /built\n');
    await ok(['build', '--network', 'none', '-t', 'bare:3', ctx]);
    const [info] = JSON.parse(await ok(['image', 'inspect', 'bare:3'])) as { RootFS: { Layers: string[] } }[];
    assert.deepEqual(await layerNames(info!.RootFS.Layers[1]!), ['built/']);
    await ok(['rm', name]);
  });

  it('commits a running container, paused meanwhile, which keeps running', async () => {
    const name = box.name('live');
    await ok(['run', '-d', '--init', '--name', name, '--network', 'none', 'bb:base', 'sleep', '600']);
    await ok(['exec', name, 'sh', '-c', 'echo live > /live']);
    await ok(['container', 'commit', name, 'bb:live']);
    const [state] = JSON.parse(await ok(['inspect', name])) as { State: { Status: string } }[];
    assert.equal(state?.State.Status, 'running');
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'bb:live', 'cat', '/live']), 'live\n');
    await ok(['rm', '-f', name]);
  });

  it('moves the changes of a container made before snapshots into its snapshot at start', async () => {
    const name = box.name('old');
    const id = (
      await ok(['create', '--name', name, '--network', 'none', 'bb:base', 'cat', '/from-before'])
    ).trim();
    // Where an earlier Berth kept the container's upper folder.
    const legacy = join(box.root, 'containers', id, 'upper');
    mkdirSync(legacy, { recursive: true });
    writeFileSync(join(legacy, 'from-before'), 'kept\n');
    assert.equal(await ok(['start', '-a', name]), 'kept\n');
    assert.equal(existsSync(legacy), false);
    assert.equal(await ok(['diff', name]), 'A /from-before\n');
    await ok(['rm', name]);
  });

  it('refuses to commit a container that does not exist, with Docker-style wording', async () => {
    const r = await box.berth(['commit', 'no-such-container']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such container: no-such-container/);
  });

  it('cp into a container never follows its symlinks out of its root', async () => {
    // A host folder the container's symlinks point at; nothing in it may change.
    const hostDir = join(box.dir, 'host-secrets');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'victim'), 'host\n');
    const name = box.name('hostile');
    await ok([
      'run',
      '--name',
      name,
      '--network',
      'none',
      'bb:base',
      'sh',
      '-c',
      `ln -s ${hostDir} /escape && ln -s ${hostDir}/victim /victim && ln -s ../../../../../.. /up && ln -s /nowhere/sub /gone && mkdir -p ${hostDir}`,
    ]);
    const src = join(box.dir, 'payload');
    writeFileSync(src, 'payload\n');
    // Each symlink is followed as the container sees it, so every write lands inside it.
    await ok(['cp', src, `${name}:/escape/x`]);
    await ok(['cp', src, `${name}:/up/y`]);
    await ok(['cp', src, `${name}:/victim`]);
    const r = await box.berth(['cp', src, `${name}:/gone/z`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The folder "\/nowhere\/sub" does not exist in the container/);
    assert.deepEqual(readdirSync(hostDir), ['victim']);
    assert.equal(readFileSync(join(hostDir, 'victim'), 'utf8'), 'host\n');
    assert.equal(existsSync(join('/', 'y')), false);
    const diff = await ok(['diff', name]);
    assert.match(diff, new RegExp(`^A ${hostDir}/x$`, 'm'));
    assert.match(diff, new RegExp(`^A ${hostDir}/victim$`, 'm'));
    assert.match(diff, /^A \/y$/m);
    const out = join(box.dir, 'back');
    await ok(['cp', `${name}:${hostDir}/victim`, out]);
    assert.equal(readFileSync(out, 'utf8'), 'payload\n');
  });

  /** The names in the layer whose diff ID is `diffId`, from the content store, sorted. */
  const layerNames = async (diffId: string): Promise<string[]> => {
    const dir = join(box.root, 'blobs', 'sha256');
    for (const f of readdirSync(dir)) {
      let tar: Buffer;
      try {
        tar = gunzipSync(readFileSync(join(dir, f)));
      } catch {
        continue;
      }
      if (`sha256:${createHash('sha256').update(tar).digest('hex')}` !== diffId) continue;
      const r = await run('tar', ['-t'], { input: tar });
      return r.stdout.split('\n').filter(Boolean).sort();
    }
    throw new Error(`No layer ${diffId} in the store`);
  };
  const topLayerNames = async (ref: string) => {
    const [info] = JSON.parse(await ok(['image', 'inspect', ref])) as { RootFS: { Layers: string[] } }[];
    return layerNames(info!.RootFS.Layers.at(-1)!);
  };
});
