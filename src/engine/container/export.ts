/**
 * `export`: the container's root filesystem as one tar stream, as `docker export` writes
 * it: what the image and the container's changes make together, without volumes and bind
 * mounts (those live in the container's mount namespace, not on the host-side mount).
 * GNU tar writes it, numeric owners and xattrs kept, so the result loads with `import`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EngineContext } from './context.js';
import { withRootfs } from './copy.js';
import { imageOf } from './image-source.js';
import { containerPaths } from './paths.js';
import { withReadOnlyView } from './private-rootfs.js';
import type { ContainerRecord } from './store.js';

export async function exportContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  out: Writable,
): Promise<void> {
  const write = async (merged: string) => {
    // The root's entries by name, as dockerd's export names them (`bin/sh`, not `./bin/sh`,
    // and no entry for the root itself); an empty root is an empty archive.
    const entries = readdirSync(merged);
    const tar = spawn(
      'tar',
      [
        '--numeric-owner',
        '--xattrs',
        '--xattrs-include=*',
        '-C',
        merged,
        '-cf',
        '-',
        ...(entries.length ? ['--', ...entries] : ['-T', '/dev/null']),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    tar.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', resolve);
    });
    await pipeline(tar.stdout, out, { end: false });
    const code = await exited;
    if (code !== 0) throw new Error(`Cannot export container ${rec.name}: tar: ${stderr.trim()}`);
  };
  // A running container's root that the runtime mounted is not on the host: a view of it is.
  if (rec.config.privateRootfs && (rec.state === 'running' || rec.state === 'paused'))
    await withReadOnlyView(
      ctx,
      containerPaths(ctx, rec.id),
      rec.id,
      await imageOf(ctx.images, rec.config),
      write,
    );
  else await withRootfs(ctx, rec, write);
}
