import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  promises as fs,
  mkdirSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { invalidArgument } from '../../core/errors.js';
import { Beneath } from '../snapshot/beneath.js';
import { chainIds, detectCompression, ensureSnapshot } from '../snapshot/snapshots.js';
import { entryParts } from '../snapshot/unpack.js';
import { addImage, type ImageStore } from './image-store.js';
import {
  type Descriptor,
  hostPlatform,
  type ImageConfigFile,
  type ImageIndex,
  indexMediaTypes,
  layerCompression,
  type Manifest,
  MediaType,
} from './oci.js';
import { normalizeReference } from './reference.js';

export interface Loaded {
  id: string;
  name?: string;
}

/**
 * `load`: reads a docker-archive (manifest.json; what `docker save` and `podman save` write)
 * or an OCI archive (oci-layout + index.json) and adds its images. The archive is unpacked
 * into a temp folder with the same path checks as layers (no entry escapes it), every blob
 * is verified against its digest on the way into the content store, and the temp folder is
 * removed whatever happens. Every layer is unpacked before the image is named, as `pull`
 * does (and Docker's `load`): a hostile layer or one that does not match its diff ID fails
 * the load rather than the first `run`.
 */
export async function loadArchive(store: ImageStore, input: Readable): Promise<Loaded[]> {
  const tmp = join(store.root, 'tmp', `load-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const links = await extractArchive(input, tmp);
    const resolvePath = (p: string) => join(tmp, ...entryParts(links.get(entryParts(p).join('/')) ?? p));
    if (existsSync(join(tmp, 'manifest.json'))) return await loadDocker(store, tmp, resolvePath);
    if (existsSync(join(tmp, 'index.json'))) return await loadOci(store, tmp);
    throw invalidArgument('The input is not an image archive: it has neither manifest.json nor index.json');
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Extracts regular files and folders, each created from an open directory fd without
 * following symlinks (as layers are); returns symlinks (docker save links duplicate layers)
 * as a map instead of making them.
 */
async function extractArchive(input: Readable, dir: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const ex = tarExtract();
  const tree = new Beneath(dir);
  const consume = (async () => {
    for await (const entry of ex) {
      tree.trim();
      const parts = entryParts(entry.header.name);
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        const bad = (why: string) => invalidArgument(`Bad archive entry "${entry.header.name}": ${why}`);
        if (parts.length === 0) throw bad('a file with no name');
        const parent = tree.dir(parts.slice(0, -1), true, bad);
        const fd = tree.createFile(parent, parts[parts.length - 1]!, 0o644);
        try {
          await pipeline(entry, createWriteStream('', { fd, autoClose: false }));
        } finally {
          closeSync(fd);
        }
      } else {
        if (entry.header.type === 'symlink' && parts.length) {
          const target = join(parts.slice(0, -1).join('/'), entry.header.linkname ?? '');
          links.set(parts.join('/'), entryParts(target).join('/'));
        }
        entry.resume();
      }
    }
  })();
  // Both must have stopped before the directory fds close (a settled promise never rejects here).
  const settled = await Promise.allSettled([
    consume.catch((e) => {
      ex.destroy();
      throw e;
    }),
    pipeline(input, ex).catch((e) => {
      ex.destroy();
      throw e;
    }),
  ]);
  tree.close();
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    const e = failed.reason as NodeJS.ErrnoException;
    throw e.code === 'TAR_BAD_ARCHIVE' || /Invalid tar header|Unexpected end/.test(e.message)
      ? invalidArgument(`The input is not a valid tar archive: ${e.message}`)
      : e;
  }
  return links;
}

/** Unpacks the image's layers into snapshots (checked: paths, types, diff IDs); throws on the first bad one. */
async function unpackLayers(store: ImageStore, manifest: Manifest): Promise<void> {
  const config = JSON.parse(
    await fs.readFile(store.content.path(manifest.config.digest), 'utf8'),
  ) as Partial<ImageConfigFile>;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw invalidArgument(
      `The archive's image config lists ${diffIds.length} layers, its manifest ${manifest.layers.length}`,
    );
  const chains = chainIds(diffIds);
  for (const [i, layer] of manifest.layers.entries()) {
    if (!layerCompression(layer.mediaType))
      throw invalidArgument(
        `Layer ${layer.digest} has media type "${layer.mediaType}", which Berth cannot unpack`,
      );
    await ensureSnapshot(store.root, chains[i]!, diffIds[i]!, store.content.path(layer.digest));
  }
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function loadDocker(store: ImageStore, dir: string, pathOf: (p: string) => string): Promise<Loaded[]> {
  let entries: DockerManifestEntry[];
  try {
    entries = JSON.parse(await fs.readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    throw invalidArgument('The archive has a manifest.json that is not valid JSON');
  }
  if (!Array.isArray(entries)) throw invalidArgument('The archive manifest.json is not a list');
  const out: Loaded[] = [];
  for (const e of entries) {
    const config = await store.content.write(await fs.readFile(pathOf(e.Config)));
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const p = pathOf(l);
      const kind = await detectCompression(p);
      const blob = await store.content.ingest(createReadStream(p));
      layers.push({
        mediaType: kind === 'gzip' ? MediaType.dockerLayerGzip : MediaType.dockerLayer,
        digest: blob.digest,
        size: blob.size,
      });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: config.digest, size: config.size },
      layers,
    };
    await unpackLayers(store, manifest);
    const m = await store.content.write(Buffer.from(JSON.stringify(manifest)));
    const names = (e.RepoTags ?? []).map(normalizeReference);
    const row = await addImage(store, m.digest, names);
    if (names.length === 0) out.push({ id: row.id });
    for (const n of names) out.push({ id: row.id, name: n });
  }
  return out;
}

async function loadOci(store: ImageStore, dir: string): Promise<Loaded[]> {
  const blobDir = join(dir, 'blobs', 'sha256');
  const blobPath = (digest: string) => join(blobDir, digest.replace(/^sha256:/, ''));
  const ingest = async (d: Descriptor) => {
    if (!/^sha256:[a-f0-9]{64}$/.test(d.digest))
      throw invalidArgument(`Unsupported digest "${d.digest}" in the archive`);
    if (!store.content.has(d.digest))
      await store.content.ingest(createReadStream(blobPath(d.digest)), { digest: d.digest, size: d.size });
  };
  const index = JSON.parse(await fs.readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  const out: Loaded[] = [];
  for (const top of index.manifests ?? []) {
    let desc = top;
    if (indexMediaTypes.includes(desc.mediaType)) {
      await ingest(desc);
      const inner = JSON.parse(await fs.readFile(blobPath(desc.digest), 'utf8')) as ImageIndex;
      const host = hostPlatform();
      const pick = inner.manifests.find(
        (m) => !m.platform || (m.platform.os === host.os && m.platform.architecture === host.architecture),
      );
      if (!pick) throw invalidArgument(`The archive has no image for ${host.os}/${host.architecture}`);
      desc = pick;
    }
    await ingest(desc);
    const manifest = JSON.parse(await fs.readFile(blobPath(desc.digest), 'utf8')) as Manifest;
    await ingest(manifest.config);
    for (const l of manifest.layers) await ingest(l);
    await unpackLayers(store, manifest);
    const ann = top.annotations ?? {};
    const refName = ann['io.containerd.image.name'] ?? ann['org.opencontainers.image.ref.name'];
    let names: string[] = [];
    if (refName) {
      try {
        names = [normalizeReference(refName)];
      } catch {
        names = [];
      }
    }
    const row = await addImage(store, desc.digest, names);
    out.push({ id: row.id, name: names[0] });
  }
  return out;
}
