import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { unmount } from '../../../engine/snapshot/mount.js';
import { bindSubPath, resolveBeneath } from './subpath.js';

const base = mkdtempSync(join(tmpdir(), 'subpath-'));
const vol = join(base, 'vol');
mkdirSync(join(vol, 'dir/deeper'), { recursive: true });
writeFileSync(join(vol, 'dir/file'), 'inside');
writeFileSync(join(base, 'secret'), 'outside');
symlinkSync('dir/file', join(vol, 'rel'));
symlinkSync('../secret', join(vol, 'out'));
symlinkSync('/etc/passwd', join(vol, 'abs'));
symlinkSync('../../secret', join(vol, 'dir/up'));
symlinkSync('deeper/../file', join(vol, 'dir/sideways'));
const targets: string[] = [];
after(async () => {
  for (const t of targets) await unmount(t);
  rmSync(base, { recursive: true, force: true });
});

test('symlinks inside the volume are followed; any that leads out is refused', () => {
  assert.deepEqual(resolveBeneath(vol, 'rel'), { parts: ['dir', 'file'], exists: true });
  assert.deepEqual(resolveBeneath(vol, 'dir/sideways'), { parts: ['dir', 'file'], exists: true });
  assert.deepEqual(resolveBeneath(vol, 'dir/new/x'), { parts: ['dir', 'new', 'x'], exists: false });
  assert.throws(() => resolveBeneath(vol, 'out'), /leads out of its volume/);
  assert.throws(() => resolveBeneath(vol, 'dir/up'), /leads out of its volume/);
  assert.throws(() => resolveBeneath(vol, 'abs'), /absolute symlink/);
  assert.throws(() => resolveBeneath(vol, '../x'), /may not contain/);
  assert.throws(() => resolveBeneath(vol, '/x'), /relative/);
});

test('a subPath file and a new subPath folder are bind-mounted from the volume', {
  skip: process.getuid?.() !== 0,
}, async () => {
  const t1 = join(base, 'mounts/1');
  targets.push(t1);
  await bindSubPath(vol, 'rel', t1);
  assert.equal(readFileSync(t1, 'utf8'), 'inside');
  const t2 = join(base, 'mounts/2');
  targets.push(t2);
  await bindSubPath(vol, 'made/here', t2);
  writeFileSync(join(t2, 'x'), 'y');
  assert.equal(readFileSync(join(vol, 'made/here/x'), 'utf8'), 'y');
  await assert.rejects(bindSubPath(vol, 'dir/up', join(base, 'mounts/3')), /leads out/);
});
