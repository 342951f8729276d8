import assert from 'node:assert/strict';
import {
  chmodSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { type Header, pack } from 'tar-stream';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { run } from '../../core/exec.js';
import { entryParts, unpackLayer } from './unpack.js';

const isRoot = process.getuid?.() === 0;
const base = tempDir('berth-unpack-');

type Entry = {
  name: string;
  type?: string;
  body?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  mtime?: Date;
};

async function tarOf(entries: Entry[]): Promise<Readable> {
  const p = pack();
  for (const e of entries) {
    p.entry(
      {
        name: e.name,
        type: (e.type ?? 'file') as Header['type'],
        linkname: e.linkname,
        mode: e.mode,
        uid: e.uid ?? 0,
        gid: 0,
        mtime: e.mtime,
      },
      e.body ?? '',
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

function fresh(name: string): { dest: string; outside: string } {
  const dir = join(base, name);
  mkdirSync(join(dir, 'dest'), { recursive: true });
  mkdirSync(join(dir, 'outside'), { recursive: true });
  return { dest: join(dir, 'dest'), outside: join(dir, 'outside') };
}

test('entry names: leading slash dropped, .. refused', () => {
  assert.deepEqual(entryParts('/etc/passwd'), ['etc', 'passwd']);
  assert.deepEqual(entryParts('./a/./b'), ['a', 'b']);
  assert.throws(() => entryParts('../x'), /escapes the layer root/);
  assert.throws(() => entryParts('a/../../x'), /escapes/);
});

test('files, dirs, symlinks, hard links, modes and times', { skip: !isRoot }, async () => {
  const { dest } = fresh('basic');
  const when = new Date('2020-01-02T03:04:05Z');
  await unpackLayer(
    await tarOf([
      { name: 'bin/', type: 'directory', mode: 0o755, mtime: when },
      { name: 'bin/tool', body: 'x', mode: 0o4755, uid: 1000, mtime: when },
      { name: 'bin/alias', type: 'symlink', linkname: '/bin/tool' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
      { name: '/etc/conf', body: 'c', mode: 0o600 },
    ]),
    dest,
  );
  const st = statSync(join(dest, 'bin/tool'));
  assert.equal(st.mode & 0o7777, 0o4755);
  assert.equal(st.uid, 1000);
  assert.equal(st.mtime.getTime(), when.getTime());
  assert.equal(statSync(join(dest, 'bin')).mtime.getTime(), when.getTime());
  assert.equal(readlinkSync(join(dest, 'bin/alias')), '/bin/tool');
  assert.equal(statSync(join(dest, 'bin/hard')).ino, st.ino);
  assert.equal(readFileSync(join(dest, 'etc/conf'), 'utf8'), 'c');
});

test('whiteouts become overlay whiteouts', { skip: !isRoot }, async () => {
  const { dest } = fresh('wh');
  const r = await unpackLayer(
    await tarOf([{ name: 'a/.wh.gone' }, { name: 'b/.wh..wh..opq' }, { name: 'b/kept', body: 'k' }]),
    dest,
  );
  assert.equal(r.whiteouts, 2);
  const wh = lstatSync(join(dest, 'a/gone'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.ok(!existsSync(join(dest, 'a/.wh.gone')));
  assert.ok(!existsSync(join(dest, 'b/.wh..wh..opq')));
});

test('hostile layers write nothing outside', { skip: !isRoot }, async () => {
  const cases: [string, (outside: string) => Entry[], RegExp][] = [
    ['dotdot', () => [{ name: '../evil', body: 'x' }], /escapes/],
    ['dotdot-deep', () => [{ name: 'a/../../evil', body: 'x' }], /escapes/],
    [
      'symlink-dir',
      (o) => [
        { name: 'link', type: 'symlink', linkname: o },
        { name: 'link/evil', body: 'x' },
      ],
      /symlink/,
    ],
    [
      'symlink-rel',
      () => [
        { name: 'up', type: 'symlink', linkname: '../outside' },
        { name: 'up/evil', body: 'x' },
      ],
      /symlink/,
    ],
    [
      'hardlink-out',
      (o) => [{ name: 'h', type: 'link', linkname: `${o}/secret` }],
      /not in this layer|escapes/,
    ],
    ['hardlink-dotdot', () => [{ name: 'h', type: 'link', linkname: '../outside/secret' }], /escapes/],
    ['device', () => [{ name: 'dev/sda', type: 'block-device' }], /device nodes/],
  ];
  for (const [name, entries, err] of cases) {
    const { dest, outside } = fresh(`hostile-${name}`);
    await assert.rejects(unpackLayer(await tarOf(entries(outside)), dest), err, name);
    assert.ok(!existsSync(join(outside, 'evil')), `${name} wrote outside`);
    assert.ok(!existsSync(join(dest, '..', 'evil')), `${name} wrote beside`);
  }
});

test('a symlink at the final name is replaced, not followed', { skip: !isRoot }, async () => {
  const { dest, outside } = fresh('final-link');
  await unpackLayer(
    await tarOf([
      { name: 'f', type: 'symlink', linkname: join(outside, 'target') },
      { name: 'f', body: 'inside' },
    ]),
    dest,
  );
  assert.ok(!existsSync(join(outside, 'target')));
  assert.equal(readFileSync(join(dest, 'f'), 'utf8'), 'inside');
});

test('a directory replaced by a symlink keeps no deferred chmod or utimes', { skip: !isRoot }, async () => {
  for (const variant of ['absolute', 'relative']) {
    const { dest, outside } = fresh(`dir-then-link-${variant}`);
    const victim = join(outside, 'victim');
    writeFileSync(victim, 'host');
    chmodSync(victim, 0o644);
    const before = statSync(victim);
    const linkname = variant === 'absolute' ? victim : `${'../'.repeat(12)}${victim.slice(1)}`;
    await unpackLayer(
      await tarOf([
        { name: 'x/', type: 'directory', mode: 0o4777, mtime: new Date('2001-01-01T00:00:00Z') },
        { name: 'x', type: 'symlink', linkname },
      ]),
      dest,
    );
    const after = statSync(victim);
    assert.equal(after.mode & 0o7777, 0o644, `${variant}: the host file's mode changed`);
    assert.equal(after.mtimeMs, before.mtimeMs, `${variant}: the host file's time changed`);
    assert.equal(readlinkSync(join(dest, 'x')), linkname);
  }
});

test('a directory whited out, or replaced by a file, loses its fix-up too', { skip: !isRoot }, async () => {
  const { dest } = fresh('dir-replaced');
  await unpackLayer(
    await tarOf([
      { name: 'd/', type: 'directory', mode: 0o4777 },
      { name: 'd/sub/', type: 'directory', mode: 0o700 },
      { name: '.wh.d' },
      { name: 'e/', type: 'directory', mode: 0o4777 },
      { name: 'e', body: 'now a file', mode: 0o600 },
    ]),
    dest,
  );
  assert.ok(lstatSync(join(dest, 'd')).isCharacterDevice());
  assert.equal(statSync(join(dest, 'e')).mode & 0o7777, 0o600);
});

test('hard links, whiteouts and xattrs stay beneath the root', { skip: !isRoot }, async () => {
  const cases: [string, (outside: string) => Entry[], RegExp][] = [
    [
      'hardlink-through-symlink',
      (o) => [
        { name: 'l', type: 'symlink', linkname: o },
        { name: 'h', type: 'link', linkname: 'l/secret' },
      ],
      /symlink/,
    ],
    [
      'hardlink-through-relative-symlink',
      () => [
        { name: 'l', type: 'symlink', linkname: '../outside' },
        { name: 'h', type: 'link', linkname: 'l/secret' },
      ],
      /symlink/,
    ],
    ['whiteout-dotdot', () => [{ name: '.wh...' }], /one file/],
    ['whiteout-dotdot-deep', () => [{ name: 'a/.wh...' }], /one file/],
    [
      'whiteout-through-symlink',
      (o) => [{ name: 'l', type: 'symlink', linkname: o }, { name: 'l/.wh.secret' }],
      /symlink/,
    ],
    [
      'opaque-through-symlink',
      (o) => [{ name: 'l', type: 'symlink', linkname: o }, { name: 'l/.wh..wh..opq' }],
      /symlink/,
    ],
    ['long-name', () => [{ name: 'a/'.repeat(3000), body: 'x' }], /over 4096 bytes/],
  ];
  for (const [name, entries, err] of cases) {
    const { dest, outside } = fresh(`beneath-${name}`);
    writeFileSync(join(outside, 'secret'), 's');
    await assert.rejects(unpackLayer(await tarOf(entries(outside)), dest), err, name);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 's', `${name} changed outside`);
    assert.equal(statSync(join(outside, 'secret')).nlink, 1, `${name} linked outside`);
    assert.ok(existsSync(join(dest, '..', 'outside')), `${name} removed beside`);
    assert.ok(existsSync(dest), `${name} removed the root`);
  }
});

test('fix-ups below a directory replaced by a symlink are skipped, not followed', {
  skip: !isRoot,
}, async () => {
  const { dest, outside } = fresh('nested-fixup');
  mkdirSync(join(outside, 'sub'));
  chmodSync(join(outside, 'sub'), 0o755);
  await unpackLayer(
    await tarOf([
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/sub/', type: 'directory', mode: 0o4777, mtime: new Date('2001-01-01T00:00:00Z') },
      { name: 'd', type: 'symlink', linkname: outside },
    ]),
    dest,
  );
  assert.equal(statSync(join(outside, 'sub')).mode & 0o7777, 0o755);
  assert.notEqual(statSync(join(outside, 'sub')).mtime.getFullYear(), 2001);
});

/** A layer made by GNU tar from a folder prepared by `prepare`, as `docker save` layers are (PAX, SCHILY.xattr). */
async function gnuTar(
  name: string,
  args: string[],
  prepare: (src: string) => Promise<void>,
): Promise<Readable> {
  const src = join(base, `${name}-src`);
  mkdirSync(src, { recursive: true });
  await prepare(src);
  const file = join(base, `${name}.tar`);
  await run('tar', [...args, '-cf', file, '-C', src, '.']);
  return createReadStream(file);
}

test('xattrs are kept: file capabilities (binary), user.* and trusted.*, on files, dirs and symlinks', {
  skip: !isRoot,
}, async () => {
  // Docker and podman keep a layer's SCHILY.xattr records (a ping binary's cap_net_raw lives there).
  const layer = await gnuTar('xattrs', ['--format=pax', '--xattrs', '--xattrs-include=*'], async (src) => {
    writeFileSync(join(src, 'ping'), 'bin');
    // cap_setuid is bit 7: a byte over 0x7f, which a text decoding of the record would corrupt.
    await run('setcap', ['cap_setuid,cap_net_raw+ep', join(src, 'ping')]);
    await run('setfattr', ['-n', 'user.note', '-v', '0sgAEC', join(src, 'ping')]);
    mkdirSync(join(src, 'd'));
    await run('setfattr', ['-n', 'trusted.dir', '-v', 'yes', join(src, 'd')]);
    await run('ln', ['-s', 'ping', join(src, 'link')]);
    await run('setfattr', ['-h', '-n', 'trusted.link', '-v', 'l', join(src, 'link')]);
  });
  const { dest } = fresh('xattrs');
  await unpackLayer(layer, dest);
  assert.match((await run('getcap', [join(dest, 'ping')])).stdout, /cap_setuid,cap_net_raw[=+]ep/);
  const dump = async (p: string, h: string[] = []) =>
    (await run('getfattr', [...h, '-d', '-m', '^(user|trusted)\\.', '-e', 'hex', p])).stdout;
  assert.match(await dump(join(dest, 'ping')), /user\.note=0x800102/);
  assert.match(await dump(join(dest, 'd')), /trusted\.dir=0x796573/);
  assert.match(await dump(join(dest, 'link'), ['-h']), /trusted\.link=0x6c/);
  assert.doesNotMatch(await dump(join(dest, 'ping'), []), /trusted\.link/);
});

test("a layer with overlayfs' own xattrs is refused", { skip: !isRoot }, async () => {
  const layer = await gnuTar('ovl-xattr', ['--format=pax', '--xattrs', '--xattrs-include=*'], async (src) => {
    mkdirSync(join(src, 'd'));
    await run('setfattr', ['-n', 'trusted.overlay.redirect', '-v', '/etc', join(src, 'd')]);
  });
  const { dest } = fresh('ovl-xattr');
  await assert.rejects(
    unpackLayer(layer, dest),
    /Refusing layer entry "\.\/d\/": the xattr "trusted\.overlay\.redirect" belongs to overlayfs/,
  );
});

for (const format of ['gnu', 'pax']) {
  test(`a sparse file (${format} format) is refused, not left out`, { skip: !isRoot }, async () => {
    // Podman refuses a layer holding a sparse entry rather than dropping it.
    const layer = await gnuTar(`sparse-${format}`, [`--format=${format}`, '--sparse'], async (src) => {
      writeFileSync(join(src, 'before'), 'x');
      await run('truncate', ['-s', '1M', join(src, 'holes')]);
      await run('sh', ['-c', `printf end >> ${join(src, 'holes')}`]);
    });
    const { dest } = fresh(`sparse-${format}`);
    await assert.rejects(
      unpackLayer(layer, dest),
      /Refusing layer entry ".*holes": sparse files in image layers are not supported/,
    );
  });
}
