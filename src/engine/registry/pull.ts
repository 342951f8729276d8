import { createHash } from 'node:crypto';
import { BerthError, invalidArgument } from '../../core/errors.js';
import type { ImageRow } from '../image/image-index.js';
import { addImage, type ImageStore } from '../image/image-store.js';
import {
  hostPlatform,
  type ImageConfigFile,
  type ImageIndex,
  indexMediaTypes,
  layerCompression,
  type Manifest,
  MediaType,
  manifestMediaTypes,
  type Platform,
} from '../image/oci.js';
import { formatReference, parseReference, type Reference, repositoryOf } from '../image/reference.js';
import { chainIds, recordChain, sweepSnapshotTemp } from '../snapshot/snapshots.js';
import { type Credentials, loadCredentials } from './auth-file.js';
import { RegistryClient } from './client.js';
import { registryError } from './errors.js';
import { fetchBlob, fetchLayer, type LayerJob } from './fetch-layer.js';
import { readBody } from './http.js';
import type { Progress } from './progress.js';

/** Manifests larger than this are refused: no real manifest comes near it (Docker's limit too). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Layers downloaded at once (podman also fetches six): a slot held by one layer's fsync must not stall the next download. */
const PARALLEL = 6;

const ACCEPT = [...manifestMediaTypes, ...indexMediaTypes].join(', ');

export interface PullOptions {
  /** `os/arch[/variant]`; default the host's. */
  platform?: string;
  /** Plain HTTP (`--tls-verify=false`); default true for loopback registries. */
  insecure?: boolean;
  progress?: Progress;
  /** Cancels the pull: requests stop, nothing partial becomes visible. */
  signal?: AbortSignal;
  /** Credentials for this pull (a pod's imagePullSecrets), instead of the auth file's. */
  credentials?: Credentials;
}

export function parsePlatform(s: string | undefined): Platform {
  if (!s) return hostPlatform();
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) throw invalidArgument(`Invalid platform "${s}": expected os/arch[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Fetches a manifest or index by tag or digest, checking its size and (when known) its digest. */
export async function fetchManifest(
  client: RegistryClient,
  ref: Reference,
  reference: string,
): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
  const what = `Cannot pull "${formatReference(ref)}"`;
  const res = await client.request('GET', `/v2/${ref.path}/manifests/${reference}`, {
    scope: `repository:${ref.path}:pull`,
    headers: { Accept: ACCEPT },
  });
  if (res.status !== 200) throw await registryError(res, what);
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > MAX_MANIFEST_BYTES) {
    res.body.destroy();
    throw invalidArgument(
      `${what}: the manifest is ${declared} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`,
    );
  }
  const bytes = await readBody(res, MAX_MANIFEST_BYTES).catch(() => {
    throw invalidArgument(`${what}: the manifest is over the ${MAX_MANIFEST_BYTES}-byte limit`);
  });
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw invalidArgument(`${what}: digest mismatch: asked for ${reference}, received ${digest}`);
  }
  let mediaType = String(res.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as {
      mediaType?: string;
      manifests?: unknown;
      layers?: unknown;
    };
    if (parsed.mediaType) mediaType = parsed.mediaType;
    else if (!mediaType || mediaType === 'application/json')
      mediaType = parsed.manifests ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    throw invalidArgument(`${what}: the manifest is not valid JSON`);
  }
  return { bytes, digest, mediaType };
}

function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (!p) return false;
  return (
    p.os === want.os && p.architecture === want.architecture && (!want.variant || p.variant === want.variant)
  );
}

/** Runs `fn` over `items` with at most `limit` at once; the first failure rejects. */
async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * `pull`: resolves the reference (a multi-platform index to the host's or `--platform`'s
 * image), downloads the config and the layers in parallel, each verified while it streams
 * and visible only when whole, unpacks every layer into its snapshot as soon as it lands,
 * and records the image under its name and repository digest. Blobs and snapshots already
 * present are reused, so a pull killed halfway resumes where it stopped.
 */
export async function pullImage(
  store: ImageStore,
  refText: string,
  options: PullOptions = {},
): Promise<ImageRow> {
  const ref = parseReference(refText);
  const want = parsePlatform(options.platform);
  // Leftovers of a pull that was killed: temp files of dead processes only.
  await store.content.sweepTemp();
  await sweepSnapshotTemp(store.root);
  const client = new RegistryClient(ref.domain, {
    insecure: options.insecure,
    credentials: options.credentials ?? loadCredentials(ref.domain),
    signal: options.signal,
  });
  const top = await fetchManifest(client, ref, ref.digest ?? ref.tag ?? 'latest');
  let manifestBytes = top.bytes;
  let manifestDigest = top.digest;
  if (indexMediaTypes.includes(top.mediaType)) {
    const index = JSON.parse(top.bytes.toString('utf8')) as ImageIndex;
    const pick = index.manifests.find((m) => platformMatches(m.platform, want));
    if (!pick) {
      const have = index.manifests
        .map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : '?'))
        .join(', ');
      throw new BerthError(
        'NotFound',
        `Cannot pull "${formatReference(ref)}": no image for ${want.os}/${want.architecture} (the index has ${have || 'none'})`,
      );
    }
    const m = await fetchManifest(client, ref, pick.digest);
    manifestBytes = m.bytes;
    manifestDigest = m.digest;
  } else if (!manifestMediaTypes.includes(top.mediaType)) {
    throw invalidArgument(
      `Cannot pull "${formatReference(ref)}": unsupported manifest type "${top.mediaType}"`,
    );
  }
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw invalidArgument(`Cannot pull "${formatReference(ref)}": the manifest has no config or layers`);
  }
  for (const l of manifest.layers) {
    if (!layerCompression(l.mediaType))
      throw invalidArgument(`Cannot pull "${formatReference(ref)}": unsupported layer type "${l.mediaType}"`);
  }
  await fetchBlob(store.content, client, ref, manifest.config);
  const config = JSON.parse(
    (await store.content.read(manifest.config.digest)).toString('utf8'),
  ) as ImageConfigFile;
  if (
    !platformMatches(
      { os: config.os, architecture: config.architecture, variant: config.variant },
      { ...want, variant: undefined },
    )
  ) {
    throw new BerthError(
      'NotFound',
      `Cannot pull "${formatReference(ref)}": the image is for ${config.os}/${config.architecture}, not ${want.os}/${want.architecture}`,
    );
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw invalidArgument(
      `Cannot pull "${formatReference(ref)}": the config lists ${diffIds.length} layers, the manifest ${manifest.layers.length}`,
    );
  }
  const chains = chainIds(diffIds);
  const progress = options.progress;
  for (const l of manifest.layers) progress?.update(l.digest.slice(7, 19), 'Pulling fs layer');
  const jobs: LayerJob[] = manifest.layers.map((desc, i) => ({
    root: store.root,
    ref,
    desc,
    chainId: chains[i]!,
    diffId: diffIds[i]!,
  }));
  await parallel(jobs, PARALLEL, (job) => fetchLayer(job, store.content, client, progress));
  // Layers were unpacked in parallel, each on its own; now that all are there, stack them.
  await recordChain(store.root, chains);
  await store.content.write(manifestBytes, manifestDigest);
  const repoDigest = `${repositoryOf(ref)}@${top.digest}`;
  const names = ref.tag ? [formatReference({ ...ref, digest: undefined })] : [];
  return addImage(store, manifestDigest, names, [repoDigest]);
}
