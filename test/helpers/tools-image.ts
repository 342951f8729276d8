/**
 * A test image with real client tools beside busybox: the busybox root filesystem plus the
 * host's own binaries (curl by default) and every shared library `ldd` lists for them, at the
 * same paths, so they run in a container as on the host. For what busybox cannot do: its wget
 * neither verifies a server's certificate against a CA nor agrees on a cipher with the API
 * server. Built once per machine (rebuilt when a binary changes) and cached like busybox's.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../src/core/exec.js';
import { cachedRootfsTar, makeBusyboxRootfs } from './busybox-image.js';

/** The files a dynamically linked binary needs: its libraries and the loader, as ldd lists them. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const paths: string[] = [];
  for (const line of stdout.split('\n')) {
    // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

/** The path of a cached rootfs tarball of busybox plus `tools` (absolute host paths). */
export async function toolsRootfsTar(tools: readonly string[] = ['/usr/bin/curl']): Promise<string> {
  for (const t of tools)
    if (!existsSync(t)) throw new Error(`${t} is not installed: run scripts/install-deps`);
  const stamp = tools.map((t) => `${t.replace(/\W/g, '_')}-${Math.floor(statSync(t).mtimeMs)}`).join('-');
  return cachedRootfsTar(
    `tools-rootfs-${Math.floor(statSync('/bin/busybox').mtimeMs)}-${stamp}.tar`,
    async (rootfs) => {
      await makeBusyboxRootfs(rootfs);
      for (const tool of tools)
        for (const file of [tool, ...(await sharedLibraries(tool))]) {
          const target = join(rootfs, file);
          mkdirSync(dirname(target), { recursive: true });
          // copyFileSync follows symlinks: the image gets the file itself at the linked name.
          rmSync(target, { force: true });
          copyFileSync(file, target);
        }
    },
  );
}
