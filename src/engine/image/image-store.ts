import { errorCode, internal, invalidArgument, notFound } from '../../core/errors.js';
import { type EngineDb, openEngineDb } from '../state/db.js';
import { type ContentStore, openContentStore } from './content-store.js';
import { ImageIndex, type ImageRow, type ImageIndex as Index } from './image-index.js';
import {
  type ImageConfigFile,
  indexMediaTypes,
  type Manifest,
  MediaType,
  manifestMediaTypes,
} from './oci.js';
import { familiarName, normalizeReference } from './reference.js';

/** The image store of one engine root: blobs, the name index, and the database they share. */
export interface ImageStore {
  root: string;
  db: EngineDb;
  content: ContentStore;
  index: Index;
}

/** The image store of an engine root over its already open database (the engine facade's). */
export function imageStoreOn(root: string, db: EngineDb): ImageStore {
  return { root, db, content: openContentStore(root), index: new ImageIndex(db) };
}

/** Opens the image store of an engine root with a database of its own (tests and tools). */
export function openImageStore(root: string): ImageStore {
  return imageStoreOn(root, openEngineDb(root));
}

/**
 * Finds an image or throws Docker's `No such image: REF`, a name with its tag as dockerd
 * writes it (`No such image: bb:latest` for `bb`); an ID as it was given.
 */
export function findImage(store: ImageStore, ref: string): ImageRow {
  const row = store.index.find(ref);
  if (!row) throw notFound(`No such image: ${missingImageName(ref)}`);
  return row;
}

function missingImageName(ref: string): string {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(ref) || ref.startsWith('sha256:')) return ref;
  try {
    return familiarName(normalizeReference(ref));
  } catch (e) {
    // Not a reference at all (`BAD:tag`): the message names what was asked for.
    if (errorCode(e) !== 'InvalidArgument') throw e;
    return ref;
  }
}

export async function readJsonBlob<T>(store: ImageStore, digest: string, what: string): Promise<T> {
  return parseJsonBlob<T>(await blobText(store, digest), digest, what);
}

/**
 * The text of JSON blobs (manifests, image configs) read before, by store and digest: a
 * blob's bytes never change for its digest, and the node agent resolves the image at every
 * container's create and start (a file open, read and close through libuv's pool each time).
 * Parsed at every call, so no caller shares an object another may change.
 */
const blobTexts = new WeakMap<ImageStore, Map<string, string>>();
const MAX_BLOB_TEXTS = 256;

async function blobText(store: ImageStore, digest: string): Promise<string> {
  let texts = blobTexts.get(store);
  if (!texts) {
    texts = new Map();
    blobTexts.set(store, texts);
  }
  let text = texts.get(digest);
  if (text === undefined) {
    text = (await store.content.read(digest)).toString('utf8');
    if (texts.size >= MAX_BLOB_TEXTS) texts.clear();
    texts.set(digest, text);
  }
  return text;
}

function parseJsonBlob<T>(text: string, digest: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw internal(`The ${what} blob ${digest} is not valid JSON`);
  }
}

/** Reads and checks an image manifest (OCI or Docker schema2). */
export async function readManifest(store: ImageStore, digest: string): Promise<Manifest> {
  const m = await readJsonBlob<Manifest>(store, digest, 'manifest');
  if (m.mediaType && indexMediaTypes.includes(m.mediaType)) {
    throw invalidArgument(`${digest} is an image index, not an image manifest`);
  }
  if (m.mediaType && !manifestMediaTypes.includes(m.mediaType)) {
    throw invalidArgument(`Unsupported manifest media type "${m.mediaType}" in ${digest}`);
  }
  if (m.schemaVersion !== 2 || !m.config || !Array.isArray(m.layers)) {
    throw invalidArgument(`Manifest ${digest} is not a schema 2 image manifest`);
  }
  return m;
}

export async function readImageConfig(store: ImageStore, row: ImageRow): Promise<ImageConfigFile> {
  const cfg = await readJsonBlob<ImageConfigFile>(store, row.id, 'image config');
  if (!cfg.rootfs || !Array.isArray(cfg.rootfs.diff_ids))
    throw internal(`Image config ${row.id} has no rootfs.diff_ids`);
  return cfg;
}

/**
 * Records an image whose manifest, config and layer blobs are already in the content store,
 * and points `names` at it. Checks that every blob is present and that the config's layer
 * list matches the manifest, so the index never names an image that cannot run.
 */
export async function addImage(
  store: ImageStore,
  manifestDigest: string,
  names: string[],
  repoDigests: string[] = [],
): Promise<ImageRow> {
  const manifest = await readManifest(store, manifestDigest);
  const id = manifest.config.digest;
  if (!store.content.has(id))
    throw notFound(`The config blob ${id} of manifest ${manifestDigest} is missing`);
  const config = await readJsonBlob<ImageConfigFile>(store, id, 'image config');
  if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
    throw invalidArgument(
      `Image ${id} is inconsistent: its config lists ${config.rootfs?.diff_ids?.length ?? 0} layers, its manifest ${manifest.layers.length}`,
    );
  }
  let size = 0;
  for (const l of manifest.layers) {
    if (!store.content.has(l.digest)) throw notFound(`Layer ${l.digest} of image ${id} is missing`);
    size += l.size;
  }
  store.index.put(
    { id, manifestDigest, size, created: config.created ?? new Date(0).toISOString() },
    names,
    repoDigests,
  );
  return store.index.get(id)!;
}

/** Docker's `image inspect` shape for one image. */
export async function inspectImage(store: ImageStore, ref: string): Promise<Record<string, unknown>> {
  const row = findImage(store, ref);
  const config = await readImageConfig(store, row);
  return {
    Id: row.id,
    RepoTags: row.names.map(familiarName),
    RepoDigests: row.digests.map(familiarName),
    Parent: '',
    Comment: config.history?.[config.history.length - 1]?.comment ?? '',
    Created: config.created ?? '',
    DockerVersion: '',
    Author: config.author ?? '',
    Container: '',
    // Every field of dockerd's image Config, zero where the image sets none (templates read them).
    Config: {
      Hostname: '',
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: null,
      Cmd: null,
      Image: '',
      Volumes: null,
      WorkingDir: '',
      Entrypoint: null,
      OnBuild: null,
      Labels: null,
      ...(config.config ?? {}),
    },
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant ? { Variant: config.variant } : {}),
    Size: row.size,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: MediaType.ociManifest, digest: row.manifestDigest },
  };
}
