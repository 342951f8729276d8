// Hostile images through every way in (import, load then run, pull from a real registry): a
// layer must not change anything on the host, and a refused blob must leave nothing behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Header, pack } from 'tar-stream';
import { run } from '../src/core/exec.js';
import { startBearerProxy } from './helpers/bearer-proxy.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

type Entry = Partial<Header> & { name: string; body?: Buffer | string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...header } of entries) p.entry({ uid: 0, gid: 0, ...header }, body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Writes a docker-archive (what `docker save` makes) of one image with the given layer blobs. */
async function dockerArchive(dir: string, tag: string, layers: { blob: Buffer; diffId: string }[]) {
  const arc = join(dir, `arc-${sha256(tag).slice(0, 8)}`);
  mkdirSync(arc, { recursive: true });
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  });
  writeFileSync(join(arc, 'config.json'), config);
  const names = layers.map((l, i) => {
    writeFileSync(join(arc, `layer${i}.tar`), l.blob);
    return `layer${i}.tar`;
  });
  writeFileSync(
    join(arc, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: names }]),
  );
  const out = `${arc}.tar`;
  await run('tar', ['-C', arc, '-cf', out, '.']);
  return out;
}

describe('hostile layers', { skip: !isRoot }, () => {
  let box: Sandbox;
  let reg: TestRegistry;
  const victims: string[] = [];
  const when = new Date('2020-02-02T02:02:02Z');
  before(async () => {
    box = await sandbox(undefined);
    reg = await startRegistry(box);
  });
  after(() => box.cleanup());

  const ok = (b: Sandbox, args: string[]) => b.ok(args);
  const assertVictimsUntouched = (how: string) => {
    for (const v of victims) {
      const st = statSync(v);
      assert.equal(st.mode & 0o7777, 0o644, `${how}: ${v} changed mode`);
      assert.equal(st.mtime.getTime(), when.getTime(), `${how}: ${v} changed time`);
    }
  };
  const snapshotsOf = (b: Sandbox) => readdirSync(join(b.root, 'snapshots'));

  test('a directory replaced by a symlink to a host file: import, load and pull leave the host file alone', async () => {
    // The attack: `x/` (04777, an mtime) then symlink `x` -> a host file; the deferred
    // directory chmod/utimes used to follow the symlink. One absolute, one relative variant.
    for (const n of ['abs', 'rel']) {
      const v = join(box.dir, `victim-${n}`);
      writeFileSync(v, 'host file');
      chmodSync(v, 0o644);
      utimesSync(v, when, when);
      victims.push(v);
    }
    const [abs, rel] = victims as [string, string];
    const layer = await tarOf([
      { name: 'x/', type: 'directory', mode: 0o4777, mtime: new Date('2001-01-01T00:00:00Z') },
      { name: 'x', type: 'symlink', linkname: abs },
      { name: 'y/', type: 'directory', mode: 0o4777, mtime: new Date('2001-01-01T00:00:00Z') },
      { name: 'y', type: 'symlink', linkname: `${'../'.repeat(16)}${rel.slice(1)}` },
      { name: 'etc/hostname', body: 'evil\n', mode: 0o644 },
    ]);
    const tarPath = join(box.dir, 'hostile.tar');
    writeFileSync(tarPath, layer);

    await ok(box, ['import', tarPath, 'evil:1']);
    assertVictimsUntouched('import');

    // load unpacks every layer, as pull does (and Docker's load).
    const archive = await dockerArchive(box.dir, 'evil:2', [
      { blob: layer, diffId: `sha256:${sha256(layer)}` },
    ]);
    const loader = await sandbox(undefined);
    try {
      await ok(loader, ['load', '-i', archive]);
      assert.ok(
        snapshotsOf(loader).some((n) => /^[a-f0-9]{64}$/.test(n)),
        'load unpacked the layer',
      );
      assertVictimsUntouched('load');
    } finally {
      await loader.cleanup();
    }

    const ref = `${reg.host}/hostile/evil:1`;
    await ok(box, ['tag', 'evil:1', ref]);
    await ok(box, ['push', '-q', ref]);
    const puller = await sandbox(undefined);
    try {
      await ok(puller, ['pull', '-q', ref]);
      assert.ok(
        snapshotsOf(puller).some((n) => /^[a-f0-9]{64}$/.test(n)),
        'pull unpacked the layer',
      );
      assertVictimsUntouched('pull');
    } finally {
      await puller.cleanup();
    }
  });

  test('load refuses a hostile layer, or one that is not its diff ID, at load time and names nothing', async () => {
    // Docker's load unpacks (and so checks) every layer before it tags the image.
    const escaping = await tarOf([{ name: '../escape', body: 'x' }]);
    const good = await tarOf([{ name: 'ok', body: 'fine' }]);
    const cases = [
      {
        tag: 'escape:1',
        layers: [{ blob: escaping, diffId: `sha256:${sha256(escaping)}` }],
        error: /Refusing layer entry "\.\.\/escape": the path escapes the layer root/,
      },
      {
        tag: 'lying:1',
        layers: [{ blob: good, diffId: `sha256:${'0'.repeat(64)}` }],
        error: /Layer content does not match its diff ID: expected sha256:0{64}, got sha256:[a-f0-9]{64}/,
      },
    ];
    for (const c of cases) {
      const r = await box.berth(['load', '-i', await dockerArchive(box.dir, c.tag, c.layers)]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, c.error);
      const images = await box.berth(['images', '-q', c.tag]);
      assert.equal(images.stdout, '', `${c.tag} was not named`);
    }
    assert.deepEqual(
      snapshotsOf(box).filter((n) => n.startsWith('tmp-')),
      [],
      'no half-unpacked snapshot is left',
    );
  });

  test('a blob longer than its declared size is cut off there, and its half-unpacked snapshot removed', async () => {
    // A gzip bomb: 64 MB of zeros in a ~64 KB blob, so its unpack is still writing when the
    // registry's extra bytes get the blob refused.
    const layer = await tarOf([{ name: 'zeros', body: Buffer.alloc(64 << 20) }]);
    const blob = gzipSync(layer, { level: 1 });
    const archive = await dockerArchive(box.dir, 'bomb:1', [{ blob, diffId: `sha256:${sha256(layer)}` }]);
    await ok(box, ['load', '-i', archive]);
    const ref = `${reg.host}/hostile/bomb:1`;
    await ok(box, ['tag', 'bomb:1', ref]);
    await ok(box, ['push', '-q', ref]);
    const proxy = await startBearerProxy(reg.host);
    box.defer(() => proxy.close());
    proxy.padBlob = `sha256:${sha256(blob)}`;
    proxy.padBytes = 1 << 30;
    const fresh = await sandbox(undefined);
    try {
      const r = await fresh.berth(['pull', `${proxy.host}/hostile/bomb:1`]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /over its declared size of \d+ bytes/);
      // Socket buffers hold a few MB at most; reading on would have taken the whole GB.
      assert.ok(proxy.padSent < 64 << 20, `the client read ${proxy.padSent} bytes past the blob`);
      assert.deepEqual(
        snapshotsOf(fresh).filter((n) => n.startsWith('tmp-')),
        [],
        'no half-unpacked snapshot is left',
      );
      assert.deepEqual(readdirSync(join(fresh.root, 'blobs', 'tmp')), []);
      assert.ok(!existsSync(join(fresh.root, 'blobs', 'sha256', sha256(blob))));
    } finally {
      await fresh.cleanup();
    }
  });
});
