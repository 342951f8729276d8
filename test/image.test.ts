// Image store end to end through bin/berth: import, list, inspect, tag, save/load in both
// formats, rmi and prune, and a two-layer image whose whiteouts hide files under overlay.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { busyboxRootfsTar } from './helpers/busybox-image.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('images', { skip: !isRoot }, () => {
  let box: Sandbox;
  let tar: string;
  before(async () => {
    box = await sandbox(undefined);
    tar = await busyboxRootfsTar();
  });
  after(() => box.cleanup());

  const ok = (args: string[]) => box.ok(args);

  test('import, images, inspect, tag, rmi', async () => {
    const id = (await ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV A=1', tar, 'bb:1'])).trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    const list = await ok(['images']);
    assert.match(list, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
    assert.match(list, new RegExp(`bb\\s+1\\s+${id.slice(7, 19)}`));
    assert.equal((await ok(['images', '-q'])).trim(), id.slice(7, 19));
    const [info] = JSON.parse(await ok(['image', 'inspect', 'bb:1']));
    assert.equal(info.Id, id);
    assert.deepEqual(info.RepoTags, ['bb:1']);
    assert.deepEqual(info.Config.Cmd, ['sh']);
    assert.deepEqual(info.Config.Env, ['A=1']);
    assert.equal(info.RootFS.Layers.length, 1);
    assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', id.slice(7, 15)])).trim(), id);
    await ok(['tag', 'bb:1', 'example.com/team/bb:2']);
    assert.match(await ok(['images']), /example\.com\/team\/bb\s+2/);
    assert.equal((await ok(['rmi', 'example.com/team/bb:2'])).trim(), 'Untagged: example.com/team/bb:2');
    const json = JSON.parse(await ok(['images', '--format', 'json']));
    assert.deepEqual(json[0].RepoTags, ['bb:1']);
  });

  test('bad input: clear errors, exit 125 or 1, nothing stored', async () => {
    let r = await box.berth(['import', join(box.dir, 'missing.tar'), 'x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /missing\.tar/);
    r = await box.berth(['image', 'inspect', 'nope:1']);
    assert.match(r.stderr, /No such image: nope:1/);
    r = await box.berth(['tag', 'bb:1', 'Bad:Name']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Invalid reference format "Bad:Name"/);
    writeFileSync(join(box.dir, 'junk.tar'), 'this is not a tarball at all'.repeat(40));
    r = await box.berth(['import', join(box.dir, 'junk.tar'), 'junk']);
    assert.equal(r.code, 125);
    assert.doesNotMatch(await ok(['images']), /junk/);
    assert.deepEqual(readdirSync(join(box.root, 'blobs', 'tmp')), []);
  });

  test('save and load round trips in both formats keep the image ID', async () => {
    const id = JSON.parse(await ok(['image', 'inspect', 'bb:1']))[0].Id;
    for (const format of ['docker-archive', 'oci-archive']) {
      const file = join(box.dir, `bb-${format}.tar`);
      await ok(['save', '--format', format, '-o', file, 'bb:1']);
      const listing = (await run('tar', ['-tf', file])).stdout;
      assert.match(listing, /index\.json/);
      if (format === 'docker-archive') assert.match(listing, /manifest\.json/);
      const other = await sandbox(undefined);
      try {
        const r = await other.berth(['load', '-i', file]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Loaded image: bb:1/);
        const [info] = JSON.parse((await other.berth(['image', 'inspect', 'bb:1'])).stdout);
        assert.equal(info.Id, id);
      } finally {
        await other.cleanup();
      }
    }
  });

  test('a second layer with whiteouts hides files in the overlay view', async () => {
    // Build a two-layer docker-archive by hand: base busybox + a layer deleting /etc/group
    // and making /home opaque, then load it and mount the snapshots as overlay.
    const work = join(box.dir, 'two');
    mkdirSync(join(work, 'l2', 'home'), { recursive: true });
    mkdirSync(join(work, 'l2', 'etc'), { recursive: true });
    writeFileSync(join(work, 'l2', 'etc', '.wh.group'), '');
    writeFileSync(join(work, 'l2', 'home', '.wh..wh..opq'), '');
    writeFileSync(join(work, 'l2', 'home', 'new'), 'n');
    await run('tar', ['-C', join(work, 'l2'), '-cf', join(work, 'layer2.tar'), '.']);
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    const l1 = sha(tar);
    const l2 = sha(join(work, 'layer2.tar'));
    mkdirSync(join(work, 'arc'));
    await run('cp', [tar, join(work, 'arc', `${l1}.tar`)]);
    await run('cp', [join(work, 'layer2.tar'), join(work, 'arc', `${l2}.tar`)]);
    mkdirSync(join(work, 'arc', 'home'), { recursive: true });
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${l1}`, `sha256:${l2}`] },
    });
    const cfgHex = createHash('sha256').update(config).digest('hex');
    writeFileSync(join(work, 'arc', `${cfgHex}.json`), config);
    writeFileSync(
      join(work, 'arc', 'manifest.json'),
      JSON.stringify([
        { Config: `${cfgHex}.json`, RepoTags: ['two:layers'], Layers: [`${l1}.tar`, `${l2}.tar`] },
      ]),
    );
    await run('tar', ['-C', join(work, 'arc'), '-cf', join(work, 'two.tar'), '.']);
    await ok(['load', '-i', join(work, 'two.tar')]);
    const { resolveImage } = await import('../src/engine/image/resolve.js');
    const img = await resolveImage(box.root, 'two:layers');
    const lower = await img.lowerDirs();
    assert.equal(lower.length, 2);
    const merged = join(work, 'merged');
    mkdirSync(merged);
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower.join(':')}`, merged]);
    try {
      assert.ok(existsSync(join(merged, 'bin', 'busybox')));
      assert.ok(existsSync(join(merged, 'etc', 'passwd')));
      assert.ok(!existsSync(join(merged, 'etc', 'group')), 'whiteout hides /etc/group');
      assert.deepEqual(readdirSync(join(merged, 'home')), ['new'], 'opaque dir hides the base /home');
    } finally {
      await run('umount', [merged]);
    }
  });

  test('prune and rmi remove blobs and snapshots no image uses', async () => {
    await ok(['rmi', 'two:layers']);
    const r = await ok(['image', 'prune', '-a', '-f']);
    assert.match(r, /Total reclaimed space/);
    assert.equal((await ok(['images', '-q'])).trim(), '');
    assert.deepEqual(readdirSync(join(box.root, 'blobs', 'sha256')), []);
    assert.deepEqual(
      readdirSync(join(box.root, 'snapshots')).filter((n) => !n.startsWith('tmp')),
      [],
    );
  });
});
