/**
 * Test images without a registry: a minimal root filesystem made from Debian's static
 * busybox (one binary, a symlink per applet, /etc/passwd and /etc/group), written as a
 * plain rootfs tarball like the input of `docker import`. Built once per machine and cached,
 * because every container test needs it.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/core/exec.js';

const BUSYBOX = '/bin/busybox';

/** Lays out a busybox root filesystem in `dir` (which must exist and be empty). */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'tmp',
    'root',
    'home',
    'var',
    'proc',
    'sys',
    'dev',
  ]) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const { stdout } = await run(BUSYBOX, ['--list-full']);
  for (const path of stdout.split('\n').filter(Boolean)) {
    const target = join(dir, path);
    if (path === 'bin/busybox' || existsSync(target)) continue;
    mkdirSync(join(target, '..'), { recursive: true });
    const depth = path.split('/').length - 1;
    symlinkSync(`${'../'.repeat(depth)}bin/busybox`, target);
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/**
 * The path of a cached busybox rootfs tarball. Rebuilt when the busybox binary changes.
 * Safe against parallel test processes: the tarball is built under a temp name and renamed.
 */
export async function busyboxRootfsTar(): Promise<string> {
  if (!existsSync(BUSYBOX)) throw new Error('busybox-static is not installed; run scripts/install-deps');
  const stamp = Math.floor(statSync(BUSYBOX).mtimeMs);
  const cacheDir = join(process.env.BERTH_TEST_CACHE ?? join(tmpdir(), 'berth-test-cache'));
  mkdirSync(cacheDir, { recursive: true });
  const out = join(cacheDir, `busybox-rootfs-${stamp}.tar`);
  if (existsSync(out)) return out;
  const work = mkdtempSync(join(cacheDir, 'build-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    await makeBusyboxRootfs(rootfs);
    const tmpTar = join(work, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', tmpTar, '.']);
    renameSync(tmpTar, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}
