import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BerthError } from '../../core/errors.js';
import type { ContentStore } from '../image/content-store.js';
import { type Descriptor, layerCompression } from '../image/oci.js';
import { formatReference, type Reference } from '../image/reference.js';
import { ensureSnapshot, hasSnapshot } from '../snapshot/snapshots.js';
import type { RegistryClient } from './client.js';
import { registryError } from './errors.js';
import type { Progress } from './progress.js';

/**
 * Downloads a blob into the content store, verified while it streams; skips one already
 * there. With `unpack`, the same bytes are also decompressed and unpacked into the layer's
 * snapshot as they arrive (one pass over the data instead of write-then-reread); the
 * snapshot is verified against its diff ID on its own, so it is sound even if the blob fails.
 */
export async function fetchBlob(
  content: ContentStore,
  client: RegistryClient,
  ref: Reference,
  desc: Descriptor,
  progress?: Progress,
  unpack?: (open: () => Promise<Readable>) => Promise<unknown>,
): Promise<void> {
  const id = desc.digest.slice(7, 19);
  if (content.has(desc.digest)) {
    progress?.update(id, 'Already exists');
    return;
  }
  const res = await client.request('GET', `/v2/${ref.path}/blobs/${desc.digest}`, {
    scope: `repository:${ref.path}:pull`,
  });
  if (res.status !== 200)
    throw await registryError(res, `Cannot pull blob ${desc.digest} of "${formatReference(ref)}"`);
  progress?.update(id, 'Downloading', 0, desc.size);
  let done = 0;
  const toStore = new PassThrough({ highWaterMark: 1 << 20 });
  const toUnpack = unpack ? new PassThrough({ highWaterMark: 1 << 20 }) : undefined;
  res.body.on('data', (chunk: Buffer) => {
    done += chunk.length;
    progress?.update(id, 'Downloading', done, desc.size);
    const a = toStore.write(chunk);
    const b = toUnpack ? toUnpack.write(chunk) : true;
    if (!a || !b) {
      res.body.pause();
      let waiting = (a ? 0 : 1) + (b ? 0 : 1);
      const go = () => {
        if (--waiting === 0) res.body.resume();
      };
      if (!a) toStore.once('drain', go);
      if (!b) toUnpack!.once('drain', go);
    }
  });
  res.body.on('end', () => {
    toStore.end();
    toUnpack?.end();
  });
  res.body.on('error', (e) => {
    toStore.destroy(e);
    toUnpack?.destroy(e);
  });
  const compression = layerCompression(desc.mediaType);
  const unpacking = unpack?.(async () =>
    compression === 'gzip' ? toUnpack!.pipe(createGunzip({ chunkSize: 256 * 1024 })) : toUnpack!,
  );
  try {
    await Promise.all([content.ingest(toStore, { digest: desc.digest, size: desc.size }), unpacking]);
  } catch (e) {
    res.body.destroy();
    toUnpack?.destroy();
    throw new BerthError(
      'InvalidArgument',
      `Cannot pull "${formatReference(ref)}": blob ${desc.digest}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  progress?.update(id, 'Download complete');
}

/** One layer of a pull: where it lands and what it must be. */
export interface LayerJob {
  root: string;
  ref: Reference;
  desc: Descriptor;
  chainId: string;
  diffId: string;
}

/**
 * Pulls one layer: its blob into the content store (verified while it streams) and its
 * snapshot, unpacked from the same bytes as they arrive when it can be; a layer whose blob
 * or snapshot is already there costs nothing.
 */
export async function fetchLayer(
  job: LayerJob,
  content: ContentStore,
  client: RegistryClient,
  progress?: Progress,
): Promise<void> {
  const { root, ref, desc, chainId, diffId } = job;
  const streamable = layerCompression(desc.mediaType) !== 'zstd' && !hasSnapshot(root, chainId);
  await fetchBlob(
    content,
    client,
    ref,
    desc,
    progress,
    streamable ? (open) => ensureSnapshot(root, chainId, diffId, open) : undefined,
  );
  progress?.update(desc.digest.slice(7, 19), 'Extracting');
  await ensureSnapshot(root, chainId, diffId, content.path(desc.digest));
  progress?.update(desc.digest.slice(7, 19), 'Pull complete');
}
