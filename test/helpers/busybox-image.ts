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
import type { Sandbox } from './sandbox.js';

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
  return cachedRootfsTar(`busybox-rootfs-${Math.floor(statSync(BUSYBOX).mtimeMs)}.tar`, makeBusyboxRootfs);
}

/**
 * The cached rootfs tarball `name` (a name that changes with its inputs), laid out by `fill` in
 * an empty folder the first time. Another test process may build the same one at once: each
 * writes under a temp name and renames it into place.
 */
export async function cachedRootfsTar(
  name: string,
  fill: (rootfs: string) => Promise<void>,
): Promise<string> {
  const cacheDir = process.env.BERTH_TEST_CACHE ?? join(tmpdir(), 'berth-test-cache');
  mkdirSync(cacheDir, { recursive: true });
  const out = join(cacheDir, name);
  if (existsSync(out)) return out;
  const work = mkdtempSync(join(cacheDir, 'build-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    await fill(rootfs);
    const tmpTar = join(work, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', tmpTar, '.']);
    renameSync(tmpTar, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

/** Imports the busybox rootfs into the sandbox's store as `name`; `flags` are import's own (--change). */
export async function importBusybox(
  box: Sandbox,
  name: string,
  flags: readonly string[] = [],
): Promise<void> {
  await box.ok(['import', ...flags, await busyboxRootfsTar(), name]);
}

/** Unpacks the busybox rootfs to `box.dir`/rootfs, for `berth run --rootfs`; returns its path. */
export async function unpackBusybox(box: Sandbox): Promise<string> {
  const rootfs = join(box.dir, 'rootfs');
  mkdirSync(rootfs);
  await run('tar', ['-xf', await busyboxRootfsTar(), '-C', rootfs]);
  return rootfs;
}

/** `berth run -d` of `command` on the unpacked `rootfs`, named `name`, without a network; its ID. */
export async function runDetached(
  box: Sandbox,
  rootfs: string,
  name: string,
  flags: readonly string[] = [],
  command: readonly string[] = ['sleep', '1000'],
): Promise<string> {
  const id = await box.ok([
    'run',
    '-d',
    '--network',
    'none',
    '--name',
    name,
    ...flags,
    '--rootfs',
    rootfs,
    ...command,
  ]);
  return id.trim();
}
