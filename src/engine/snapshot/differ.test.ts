import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { run } from '../../core/exec.js';
import { openContentStore } from '../image/content-store.js';
import { changes, layerTar, writeLayer } from './differ.js';

const isRoot = process.getuid?.() === 0;
const dir = tempDir('berth-differ-');

interface Seen {
  name: string;
  type: string;
  mode: number;
  linkname?: string | null;
  body: string;
  pax?: Record<string, string>;
}

async function entries(tar: AsyncIterable<Uint8Array> | Buffer): Promise<Seen[]> {
  const ex = extract();
  const out: Seen[] = [];
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header;
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        linkname: h.linkname,
        body: Buffer.concat(chunks).toString(),
        ...(h.pax ? { pax: h.pax as Record<string, string> } : {}),
      });
    }
  })();
  const chunks: Buffer[] = [];
  if (Buffer.isBuffer(tar)) chunks.push(tar);
  else for await (const c of tar) chunks.push(Buffer.from(c));
  ex.end(Buffer.concat(chunks));
  await done;
  return out;
}

/**
 * An upper folder as overlay leaves it: a new file (with an xattr), a changed file, a
 * deleted file (0/0 character device), a folder emptied and refilled (opaque), a symlink
 * and a hard link. `lower` holds what was there before.
 */
async function makeUpper(name: string): Promise<{ upper: string; lower: string }> {
  const upper = join(dir, name, 'upper');
  const lower = join(dir, name, 'lower');
  mkdirSync(join(lower, 'etc'), { recursive: true });
  mkdirSync(join(lower, 'var/cache'), { recursive: true });
  writeFileSync(join(lower, 'etc/passwd'), 'root\n');
  writeFileSync(join(lower, 'etc/group'), 'root\n');
  writeFileSync(join(lower, 'var/cache/old'), 'old');
  mkdirSync(join(upper, 'etc'), { recursive: true });
  mkdirSync(join(upper, 'var/cache'), { recursive: true });
  writeFileSync(join(upper, 'etc/passwd'), 'root\nnew\n');
  writeFileSync(join(upper, 'etc/new'), 'n', { mode: 0o640 });
  await run('setfattr', ['-n', 'user.note', '-v', 'hello', join(upper, 'etc/new')]);
  await run('mknod', ['-m', '000', join(upper, 'etc/group'), 'c', '0', '0']);
  await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'var/cache')]);
  writeFileSync(join(upper, 'var/cache/fresh'), 'f');
  symlinkSync('/etc/passwd', join(upper, 'etc/link'));
  linkSync(join(upper, 'etc/new'), join(upper, 'etc/new2'));
  // The lower folder's times, so the unchanged /var is left out as Docker leaves it.
  const t = new Date('2020-01-01T00:00:00Z');
  for (const d of ['var', 'etc']) {
    utimesSync(join(lower, d), t, t);
    utimesSync(join(upper, d), t, t);
  }
  return { upper, lower };
}

describe('differ', { skip: !isRoot && 'needs root (mknod, trusted xattrs)' }, () => {
  test('an upper folder becomes a layer with whiteouts, an opaque marker, links and xattrs', async () => {
    const { upper } = await makeUpper('layer');
    const seen = await entries(layerTar(upper));
    const byName = new Map(seen.map((e) => [e.name, e]));
    assert.deepEqual(
      seen.map((e) => e.name),
      [
        'etc/',
        'etc/.wh.group',
        'etc/link',
        'etc/new',
        'etc/new2',
        'etc/passwd',
        'var/',
        'var/cache/',
        'var/cache/.wh..wh..opq',
        'var/cache/fresh',
      ],
    );
    assert.equal(byName.get('etc/.wh.group')?.type, 'file');
    assert.equal(byName.get('etc/link')?.type, 'symlink');
    assert.equal(byName.get('etc/link')?.linkname, '/etc/passwd');
    assert.equal(byName.get('etc/new')?.mode, 0o640);
    assert.equal(byName.get('etc/new')?.body, 'n');
    assert.equal(byName.get('etc/new')?.pax?.['SCHILY.xattr.user.note'], 'hello');
    assert.equal(byName.get('etc/new2')?.type, 'link');
    assert.equal(byName.get('etc/new2')?.linkname, 'etc/new');
    assert.equal(byName.get('etc/passwd')?.body, 'root\nnew\n');
    // Overlay's own attribute stays out of the layer.
    assert.equal(byName.get('var/cache/')?.pax, undefined);
  });

  test('the layer is stored gzip-compressed; its diff ID is the digest of the tar inside', async () => {
    const { upper } = await makeUpper('blob');
    const content = openContentStore(join(dir, 'blob-root'));
    const blob = await writeLayer(upper, content);
    const gz = readFileSync(content.path(blob.digest));
    assert.equal(blob.size, gz.length);
    const tar = gunzipSync(gz);
    assert.equal(blob.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
    assert.equal((await entries(tar)).length, 10);
  });

  test('changes are listed as docker diff lists them, mount points left out', async () => {
    const { upper, lower } = await makeUpper('changes');
    writeFileSync(join(upper, 'etc/hosts'), '');
    const list = await changes(upper, [lower], { mountPoints: new Set(['etc/hosts']) });
    assert.deepEqual(
      list.map((c) => `${c.kind} ${c.path}`),
      [
        'C /etc',
        'D /etc/group',
        'A /etc/link',
        'A /etc/new',
        'A /etc/new2',
        'C /etc/passwd',
        'C /var',
        'D /var/cache',
        'A /var/cache/fresh',
      ],
    );
  });

  test("folders made only for mount points are left out of diff and layer, like Docker's init layer", async () => {
    const root = join(dir, 'init');
    const lower = join(root, 'lower');
    const upper = join(root, 'upper');
    mkdirSync(join(lower, 'bin'), { recursive: true });
    // The runtime made /dev, /proc, /etc with its files, and /mnt above a bind target.
    for (const d of ['dev', 'proc', 'etc', 'mnt/b', 'data']) mkdirSync(join(upper, d), { recursive: true });
    for (const f of ['etc/hosts', 'etc/hostname', 'data/f']) writeFileSync(join(upper, f), '');
    const options = {
      mountPoints: new Set(['dev', 'proc', 'etc/hosts', 'etc/hostname', 'mnt/b']),
      lowers: [lower],
    };
    const list = await changes(upper, [lower], options);
    assert.deepEqual(
      list.map((c) => `${c.kind} ${c.path}`),
      ['A /data', 'A /data/f'],
    );
    assert.deepEqual(
      (await entries(layerTar(upper, options))).map((e) => e.name),
      ['data/', 'data/f'],
    );
    // A file the container wrote keeps its folder, which Docker lists as changed.
    writeFileSync(join(upper, 'etc/own'), 'x');
    assert.deepEqual(
      (await changes(upper, [lower], options)).map((c) => `${c.kind} ${c.path}`),
      ['A /data', 'A /data/f', 'C /etc', 'A /etc/own'],
    );
    // Without the lowers a layer keeps such folders: it cannot tell whether they changed.
    const names = (await entries(layerTar(upper, { mountPoints: options.mountPoints }))).map((e) => e.name);
    assert.ok(names.includes('mnt/'), names.join(' '));
  });
});
