import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { invalidArgument } from '../../core/errors.js';
import { hexOf } from './content-store.js';
import { findImage, type ImageStore, readManifest } from './image-store.js';
import { MediaType } from './oci.js';
import { familiarName, parseReference } from './reference.js';

/**
 * `save`: writes images as one tar archive. Both formats share an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...); `docker-archive` adds Docker's manifest.json and
 * repositories, which is what `docker load` reads (as Docker 25+ writes it), while
 * `oci-archive` is what `skopeo`/`podman` read as `oci-archive:`.
 */
export async function saveImages(
  store: ImageStore,
  refs: string[],
  format: string,
  out: Writable,
): Promise<void> {
  if (format !== 'docker-archive' && format !== 'oci-archive') {
    throw invalidArgument(`Unknown archive format "${format}": use docker-archive or oci-archive`);
  }
  if (refs.length === 0) throw invalidArgument('No images to save');
  const tar = pack();
  const done = pipeline(tar, out);
  const written = new Set<string>();
  const addBlob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const size = await store.content.size(digest);
    await new Promise<void>((resolve, reject) => {
      const entry = tar.entry({ name: `blobs/sha256/${hexOf(digest)}`, size, mode: 0o644 }, (e) =>
        e ? reject(e) : resolve(),
      );
      store.content.stream(digest).on('error', reject).pipe(entry);
    });
  };
  const add = (name: string, body: string) =>
    new Promise<void>((resolve, reject) =>
      tar.entry({ name, mode: 0o644 }, body, (e) => (e ? reject(e) : resolve())),
    );

  const indexEntries: Record<string, unknown>[] = [];
  const dockerManifest: Record<string, unknown>[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  await add('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const ref of refs) {
    const row = findImage(store, ref);
    const manifest = await readManifest(store, row.manifestDigest);
    await addBlob(row.manifestDigest);
    await addBlob(row.id);
    for (const l of manifest.layers) await addBlob(l.digest);
    // Saving by name keeps that name; saving by ID keeps all of the image's names, as Docker does.
    let names = row.names;
    try {
      const full = `${parseReference(ref).domain}/${parseReference(ref).path}:${parseReference(ref).tag}`;
      if (row.names.includes(full)) names = [full];
    } catch {
      /* an ID */
    }
    const size = await store.content.size(row.manifestDigest);
    const desc = { mediaType: manifest.mediaType ?? MediaType.ociManifest, digest: row.manifestDigest, size };
    if (names.length === 0) indexEntries.push(desc);
    for (const n of names) {
      indexEntries.push({
        ...desc,
        annotations: {
          'io.containerd.image.name': n,
          'org.opencontainers.image.ref.name': n.slice(n.lastIndexOf(':') + 1),
        },
      });
    }
    dockerManifest.push({
      Config: `blobs/sha256/${hexOf(row.id)}`,
      RepoTags: names.map(familiarName),
      Layers: manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
    });
    for (const n of names) {
      const f = familiarName(n);
      const i = f.lastIndexOf(':');
      const last = manifest.layers[manifest.layers.length - 1];
      repositories[f.slice(0, i)] = {
        ...(repositories[f.slice(0, i)] ?? {}),
        [f.slice(i + 1)]: last ? hexOf(last.digest) : '',
      };
    }
  }
  await add(
    'index.json',
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries }),
  );
  if (format === 'docker-archive') {
    await add('manifest.json', JSON.stringify(dockerManifest));
    await add('repositories', JSON.stringify(repositories));
  }
  tar.finalize();
  await done;
}
