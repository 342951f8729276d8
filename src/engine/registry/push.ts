import { BerthError, invalidArgument } from '../../core/errors.js';
import { findImage, type ImageStore, readManifest } from '../image/image-store.js';
import { type Descriptor, MediaType } from '../image/oci.js';
import { formatReference, parseReference, type Reference, repositoryOf } from '../image/reference.js';
import { type Credentials, loadCredentials } from './auth-file.js';
import { RegistryClient } from './client.js';
import { registryError } from './errors.js';
import { discard } from './http.js';
import type { Progress } from './progress.js';

export interface PushOptions {
  /** Credentials for this transfer (a Docker API client's X-Registry-Auth); default: the auth file's. */
  credentials?: Credentials;
  insecure?: boolean;
  progress?: Progress;
  /** Cancels the push. */
  signal?: AbortSignal;
}

/**
 * `push`: uploads what the registry lacks and then the manifest, byte for byte as stored, so
 * the registry's digest equals the local one. Blobs the registry has are skipped (HEAD);
 * blobs the image is known to have in another repository of the same registry are mounted
 * across repositories instead of uploaded; the rest stream up in one PATCH and a closing PUT.
 * Returns the pushed manifest digest.
 */
export async function pushImage(
  store: ImageStore,
  source: string,
  target: string | undefined,
  options: PushOptions = {},
): Promise<string> {
  const row = findImage(store, source);
  const ref = parseReference(target ?? source);
  if (ref.digest && !ref.tag)
    throw invalidArgument(`Cannot push to a digest reference "${target ?? source}": give a tag`);
  const client = new RegistryClient(ref.domain, {
    insecure: options.insecure,
    credentials: options.credentials ?? loadCredentials(ref.domain),
    signal: options.signal,
  });
  const scope = `repository:${ref.path}:pull,push`;
  const manifestBytes = await store.content.read(row.manifestDigest);
  const manifest = await readManifest(store, row.manifestDigest);
  // Other repositories of the same registry this image came from or went to: mount sources.
  const mountFrom = row.digests
    .map((d) => parseReference(d))
    .filter((r) => r.domain === ref.domain && r.path !== ref.path)
    .map((r) => r.path);
  const blobs: Descriptor[] = [...manifest.layers, manifest.config];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(3, blobs.length) }, async () => {
      while (next < blobs.length)
        await pushBlob(store, client, ref, scope, blobs[next++]!, mountFrom, options.progress);
    }),
  );
  const mediaType = manifest.mediaType ?? MediaType.ociManifest;
  const res = await client.request('PUT', `/v2/${ref.path}/manifests/${ref.tag ?? 'latest'}`, {
    scope,
    headers: { 'Content-Type': mediaType },
    body: manifestBytes,
  });
  if (res.status !== 201 && res.status !== 200)
    throw await registryError(res, `Cannot push the manifest of "${formatReference(ref)}"`);
  discard(res);
  const got = res.headers['docker-content-digest'];
  if (got && got !== row.manifestDigest) {
    throw new BerthError('Internal', `The registry stored the manifest as ${got}, not ${row.manifestDigest}`);
  }
  store.index.put(
    { id: row.id, manifestDigest: row.manifestDigest, size: row.size, created: row.created },
    [],
    [`${repositoryOf(ref)}@${row.manifestDigest}`],
  );
  return row.manifestDigest;
}

async function pushBlob(
  store: ImageStore,
  client: RegistryClient,
  ref: Reference,
  scope: string,
  desc: Descriptor,
  mountFrom: string[],
  progress?: Progress,
): Promise<void> {
  const id = desc.digest.slice(7, 19);
  const what = `Cannot push blob ${desc.digest} to "${formatReference(ref)}"`;
  const head = await client.request('HEAD', `/v2/${ref.path}/blobs/${desc.digest}`, { scope });
  discard(head);
  if (head.status === 200) {
    progress?.update(id, 'Layer already exists');
    return;
  }
  let location: string | undefined;
  for (const from of mountFrom) {
    const m = await client.request(
      'POST',
      `/v2/${ref.path}/blobs/uploads/?mount=${desc.digest}&from=${encodeURIComponent(from)}`,
      { scope },
    );
    discard(m);
    if (m.status === 201) {
      progress?.update(id, `Mounted from ${from}`);
      return;
    }
    if (m.status === 202) {
      location = String(m.headers.location);
      break;
    }
  }
  if (!location) {
    const start = await client.request('POST', `/v2/${ref.path}/blobs/uploads/`, { scope });
    if (start.status !== 202) throw await registryError(start, what);
    discard(start);
    location = String(start.headers.location);
  }
  progress?.update(id, 'Pushing', 0, desc.size);
  const size = await store.content.size(desc.digest);
  const patch = await client.request('PATCH', client.url(location), {
    scope,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    body: store.content.stream(desc.digest),
  });
  if (patch.status !== 202) throw await registryError(patch, what);
  discard(patch);
  const after = String(patch.headers.location ?? location);
  const put = new URL(client.url(after));
  put.searchParams.set('digest', desc.digest);
  const done = await client.request('PUT', put.toString(), { scope, headers: { 'Content-Length': '0' } });
  if (done.status !== 201) throw await registryError(done, what);
  discard(done);
  progress?.update(id, 'Pushed');
}
