/**
 * What a pod uses now, for ranking it under pressure: each container's memory working set
 * and disk (writable layer and log) from the runtime, and the disk its emptyDir volumes hold
 * under the pod's folder.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../../client/kube-client.js';
import { attemptsByName } from '../pod-status.js';
import type { PodRuntime } from '../runtime.js';
import type { PodUsage } from './rank.js';

/** Bytes below `dir` (allocated blocks; hard links once; symlinks not followed); 0 if absent. */
export async function dirUsage(dir: string): Promise<number> {
  const seen = new Set<string>();
  let bytes = 0;
  // Removed while being walked (a pod's files come and go): it holds nothing now.
  const gone = (e: unknown) => {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return undefined;
  };
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(gone);
    if (!st) return;
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    bytes += st.blocks * 512;
    if (!st.isDirectory()) return;
    for (const n of (await readdir(p).catch(gone)) ?? []) await visit(join(p, n));
  };
  await visit(dir);
  return bytes;
}

export async function podUsage(
  runtime: PodRuntime,
  pod: KubeObject,
  podsDir: string | undefined,
): Promise<PodUsage | undefined> {
  const uid = pod.metadata.uid ?? '';
  const runs = attemptsByName(await runtime.listContainers({ podUid: uid }));
  if (!runs.size) return undefined;
  const containers: PodUsage['containers'] = [];
  for (const [name, { latest }] of runs) {
    const mem = latest.state === 'running' ? await runtime.containerUsage?.(latest.id) : undefined;
    const disk = await runtime.containerDiskUsage?.(latest.id);
    containers.push({
      name,
      ...(mem ? { memory: mem.workingSetBytes } : {}),
      ...(disk !== undefined ? { disk } : {}),
    });
  }
  const volumesDisk = podsDir ? await dirUsage(join(podsDir, uid, 'volumes', 'kubernetes.io~empty-dir')) : 0;
  return { containers, volumesDisk };
}
