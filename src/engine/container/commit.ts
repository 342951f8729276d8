/**
 * `commit`: a new image from a container's changes, as `docker commit` makes it: the image's
 * layers plus one layer holding the container's upper folder (written by the differ), and
 * the container's config (command, environment, working folder, user, labels) with
 * `--change` instructions applied.
 */
import { invalidArgument } from '../../core/errors.js';
import { applyChanges } from '../image/changes.js';
import { addImage, findImage, readImageConfig, readManifest } from '../image/image-store.js';
import { type ImageConfigFile, type Manifest, MediaType } from '../image/oci.js';
import { normalizeReference } from '../image/reference.js';
import type { ImageRuntimeConfig } from '../image/resolved-image.js';
import { detectRuntime, runtimeFreeze } from '../runtime/oci-runtime.js';
import { writeLayer } from '../snapshot/differ.js';
import type { EngineContext } from './context.js';
import { containerLayers, mountPoints } from './diff.js';
import type { ContainerRecord } from './store.js';

export interface CommitOptions {
  /** `REPO[:TAG]` for the new image; untagged when absent. */
  reference?: string;
  author?: string;
  /** The history comment. */
  message?: string;
  /** `--change` instructions (CMD, ENV, ...). */
  changes?: string[];
  /** Freeze a running container while its files are read (Docker's default: true). */
  pause?: boolean;
}

/** Makes the image and returns its ID (`sha256:...`). */
export async function commitContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  o: CommitOptions = {},
): Promise<string> {
  if (rec.config.rootfs)
    throw invalidArgument(
      `Cannot commit container ${rec.name}: it runs on the folder ${rec.config.rootfs}, not an image`,
    );
  const name = o.reference ? normalizeReference(o.reference) : undefined;
  const store = ctx.images;
  const base = findImage(store, rec.config.imageId);
  const baseConfig = await readImageConfig(store, base);
  const baseManifest = await readManifest(store, base.manifestDigest);
  const runtimeConfig = applyChanges(committedConfig(baseConfig.config ?? {}, rec), o.changes ?? []);
  const { upper, lowers } = await containerLayers(ctx, rec);
  const freeze = rec.state === 'running' && o.pause !== false;
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  if (freeze) await runtimeFreeze(runtime, rec.id, true);
  let layer: Awaited<ReturnType<typeof writeLayer>>;
  try {
    layer = await writeLayer(upper, store.content, { mountPoints: mountPoints(rec), lowers });
  } finally {
    if (freeze) await runtimeFreeze(runtime, rec.id, false);
  }
  const created = new Date().toISOString();
  const command = [...rec.config.entrypoint, ...rec.config.cmd].join(' ');
  const config: ImageConfigFile = {
    ...baseConfig,
    created,
    ...(o.author ? { author: o.author } : {}),
    config: runtimeConfig,
    rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, layer.diffId] },
    history: [
      ...(baseConfig.history ?? []),
      {
        created,
        created_by: command,
        ...(o.author ? { author: o.author } : {}),
        ...(o.message ? { comment: o.message } : {}),
      },
    ],
  };
  if (!o.author) delete config.author;
  const configBlob = await store.content.write(Buffer.from(JSON.stringify(config)));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: [
      ...baseManifest.layers,
      { mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size },
    ],
  };
  const manifestBlob = await store.content.write(Buffer.from(JSON.stringify(manifest)));
  const row = await addImage(store, manifestBlob.digest, name ? [name] : []);
  return row.id;
}

/**
 * The container's process settings as an image config, on top of its image's (which keeps
 * what a container does not override: exposed ports, volumes, stop signal).
 */
function committedConfig(image: ImageRuntimeConfig, rec: ContainerRecord): ImageRuntimeConfig {
  const c = rec.config;
  // The container's environment is the image's followed by `-e`: later values win.
  const env = new Map<string, string>();
  for (const e of c.env) env.set(e.split('=')[0]!, e);
  return {
    ...image,
    Env: [...env.values()],
    Entrypoint: c.entrypoint.length > 0 ? c.entrypoint : null,
    Cmd: c.cmd.length > 0 ? c.cmd : null,
    WorkingDir: c.workingDir,
    User: c.user,
    Labels: Object.keys(c.labels).length > 0 ? c.labels : null,
  };
}
