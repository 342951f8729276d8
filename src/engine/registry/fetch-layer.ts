import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BerthError, invalidArgument } from '../../core/errors.js';
import type { ContentStore } from '../image/content-store.js';
import { type Descriptor, layerCompression } from '../image/oci.js';
import { formatReference, type Reference } from '../image/reference.js';
import { ensureSnapshot, hasSnapshot } from '../snapshot/snapshots.js';
import type { RegistryClient } from './client.js';
import { registryError } from './errors.js';
import type { Progress } from './progress.js';

/** How many bytes of a download are handed on at once (see fetchBlob). */
const BATCH_BYTES = 1 << 20;

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
  const tooLarge = (n: number) =>
    invalidArgument(`the registry sent ${n} bytes or more, over its declared size of ${desc.size} bytes`);
  const declared = res.headers['content-length'];
  if (declared !== undefined && Number(declared) > desc.size) {
    res.body.destroy();
    throw pullError(ref, desc, tooLarge(Number(declared)));
  }
  progress?.update(id, 'Downloading', 0, desc.size);
  let done = 0;
  const toStore = new PassThrough({ highWaterMark: 1 << 20 });
  const toUnpack = unpack ? new PassThrough({ highWaterMark: 1 << 20 }) : undefined;
  let stopped: Error | undefined;
  let unpackSource: Readable | undefined;
  // One failure stops the download and both consumers, each with that error.
  const stop = (e: Error) => {
    stopped ??= e;
    res.body.destroy();
    toStore.destroy(e);
    toUnpack?.destroy(e);
  };
  // The socket gives 64 kB at a time; every chunk then passes the digest, the gunzip, the
  // tar reader and the file writes, each with a fixed cost per chunk on the one JavaScript
  // thread. Handing them 1 MB at a time costs one copy and saves most of that.
  let batch: Buffer[] = [];
  let batched = 0;
  const send = () => {
    const chunk = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
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
  };
  res.body.on('data', (chunk: Buffer) => {
    done += chunk.length;
    // Nothing past the declared size is read: a registry cannot make us take more than the manifest says.
    if (done > desc.size) {
      stop(tooLarge(done));
      return;
    }
    progress?.update(id, 'Downloading', done, desc.size);
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= BATCH_BYTES) send();
  });
  res.body.on('end', () => {
    if (stopped) return;
    if (batched > 0) send();
    toStore.end();
    toUnpack?.end();
  });
  res.body.on('error', stop);
  const compression = layerCompression(desc.mediaType);
  // A consumer may not be reading yet when `stop` destroys its stream (ingest opens its temp
  // file first, the unpack makes its folder). These listeners keep that from crashing the
  // process; the consumer still fails, seeing the destroyed stream or `stopped`, and the
  // error is reported once, below. pipe() does not pass errors on: a gunzip behind
  // toUnpack gets them here, or the unpack would wait for data forever.
  toStore.on('error', () => undefined);
  toUnpack?.on('error', (e) => {
    if (unpackSource !== toUnpack) unpackSource?.destroy(e);
  });
  const unpacking = unpack?.(async () => {
    if (stopped) throw stopped;
    unpackSource =
      compression === 'gzip' ? toUnpack!.pipe(createGunzip({ chunkSize: BATCH_BYTES })) : toUnpack!;
    return unpackSource;
  });
  const stopAndRethrow = (e: Error): never => {
    stop(e);
    throw e;
  };
  const ingesting = content.ingest(toStore, { digest: desc.digest, size: desc.size });
  // Either failing stops the other, and both settle before we return, so a refused layer's
  // half-unpacked snapshot is removed (by ensureSnapshot) before the command exits.
  const results = await Promise.allSettled([
    ingesting.catch(stopAndRethrow),
    unpacking?.catch(stopAndRethrow),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw pullError(ref, desc, failed.reason);
  progress?.update(id, 'Download complete');
}

function pullError(ref: Reference, desc: Descriptor, e: unknown): BerthError {
  return new BerthError(
    'InvalidArgument',
    `Cannot pull "${formatReference(ref)}": blob ${desc.digest}: ${(e as Error).message}`,
    { cause: e },
  );
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
