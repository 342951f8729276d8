import { invalidArgument } from '../../core/errors.js';
import { chainIds, ensureSnapshot } from '../snapshot/snapshots.js';
import { findImage, type ImageStore, openImageStore, readImageConfig, readManifest } from './image-store.js';
import { layerCompression } from './oci.js';
import { normalizeReference } from './reference.js';
import type { ResolvedImage } from './resolved-image.js';

/**
 * Finds an image by name, ID or ID prefix and returns what a container needs of it. Layers
 * are unpacked on first use (`lowerDirs`), each once, shared by all images and containers.
 * Throws NotFound with Docker's wording, `No such image: REF`.
 */
export async function resolveImage(from: ImageStore | string, ref: string): Promise<ResolvedImage> {
  // A root folder opens the store on its own database (tools and tests that have no engine).
  const store = typeof from === 'string' ? openImageStore(from) : from;
  const root = store.root;
  const row = findImage(store, ref);
  const config = await readImageConfig(store, row);
  const lowerDirs = async (): Promise<string[]> => {
    const manifest = await readManifest(store, row.manifestDigest);
    const diffIds = config.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    const dirs: string[] = [];
    for (let i = 0; i < manifest.layers.length; i++) {
      const layer = manifest.layers[i]!;
      if (!layerCompression(layer.mediaType)) {
        throw invalidArgument(
          `Layer ${layer.digest} has media type "${layer.mediaType}", which Berth cannot unpack`,
        );
      }
      dirs.push(
        await ensureSnapshot(
          root,
          chains[i]!,
          diffIds[i]!,
          store.content.path(layer.digest),
          chains[i - 1] ?? '',
        ),
      );
    }
    return dirs.reverse();
  };
  return {
    id: row.id,
    name: nameFor(ref, row.names, row.id),
    config: config.config ?? {},
    lowerDirs,
    async topLayer() {
      await lowerDirs();
      return chainIds(config.rootfs.diff_ids).at(-1) ?? '';
    },
  };
}

/** The name a container records: the normalised name asked for, else the image's first name, else its ID. */
function nameFor(ref: string, names: string[], id: string): string {
  try {
    const full = normalizeReference(ref);
    if (names.includes(full)) return full;
  } catch {
    /* an ID or ID prefix */
  }
  return names[0] ?? id;
}
