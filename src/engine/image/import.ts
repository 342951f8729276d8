import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalidArgument } from '../../core/errors.js';
import { chainIds, detectCompression, ensureSnapshot } from '../snapshot/snapshots.js';
import { applyChanges } from './changes.js';
import type { ImageRow } from './image-index.js';
import { addImage, type ImageStore } from './image-store.js';
import { hostPlatform, type ImageConfigFile, type Manifest, MediaType } from './oci.js';
import { normalizeReference } from './reference.js';

export interface ImportOptions {
  /** NAME[:TAG] for the new image; untagged when absent. */
  name?: string;
  /** `--change` instructions. */
  changes?: string[];
  /** `--message`: the history comment. */
  message?: string;
  /** How to name the source in errors (a file name, or "standard input"). */
  sourceName?: string;
  /** The source as the history names it without a message (`Imported from SOURCE`); default `-`, a stream. */
  historySource?: string;
}

/**
 * `import`: a root filesystem tarball (plain or gzip) becomes a one-layer image, as
 * `docker import` makes it. The layer is stored uncompressed (its digest is its diff ID) and
 * unpacked at once, so a hostile or broken tarball fails here rather than at `run`.
 */
export async function importTarball(
  store: ImageStore,
  source: Readable,
  options: ImportOptions = {},
): Promise<ImageRow> {
  const name = options.name ? normalizeReference(options.name) : undefined;
  const runtimeConfig = applyChanges({}, options.changes ?? []);
  const raw = await store.content.ingest(source);
  let layer = raw;
  const kind = await detectCompression(store.content.path(raw.digest));
  if (kind === 'zstd') {
    await store.content.delete(raw.digest);
    throw invalidArgument('Cannot import a zstd-compressed tarball yet; decompress it first');
  }
  if (kind === 'gzip') {
    layer = await store.content
      .ingest(createReadStream(store.content.path(raw.digest)).pipe(createGunzip()))
      .catch(async (e) => {
        await store.content.delete(raw.digest);
        throw invalidArgument(`The import source is not a valid gzip stream: ${(e as Error).message}`);
      });
    await store.content.delete(raw.digest);
  }
  const diffId = layer.digest;
  try {
    await ensureSnapshot(store.root, chainIds([diffId])[0]!, diffId, store.content.path(diffId), '');
  } catch (e) {
    await store.content.delete(diffId);
    throw invalidArgument(
      `Cannot import ${options.sourceName ? `"${options.sourceName}"` : 'the tarball'}: it is not a valid root filesystem tarball (${(e as Error).message})`,
      e,
    );
  }
  const created = new Date().toISOString();
  const config: ImageConfigFile = {
    ...hostPlatform(),
    created,
    config: runtimeConfig,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [
      // As dockerd writes it: no command, and the message or where the layer came from.
      {
        created,
        created_by: '',
        comment: options.message || `Imported from ${options.historySource ?? '-'}`,
      },
    ],
  };
  const configBlob = await store.content.write(Buffer.from(JSON.stringify(config)));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: [{ mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size }],
  };
  const manifestBlob = await store.content.write(Buffer.from(JSON.stringify(manifest)));
  return addImage(store, manifestBlob.digest, name ? [name] : []);
}
