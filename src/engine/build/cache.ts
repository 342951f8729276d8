/**
 * The build cache: what a step produced, by a key made of its parent image state, its
 * instruction with arguments expanded, and (for COPY and ADD) the checksum of the files it
 * takes, as BuildKit keys its cache. A record holds the image config and layer descriptors
 * after the step, so a rebuild that hits every step writes the same config bytes, hence the
 * same image ID. Records live as files under ROOT/build-cache; a record whose layers were
 * removed from the content store since (an `rmi` of the only image using them) is a miss.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic-file.js';
import type { Provider } from '../image/content-store.js';
import type { Descriptor, ImageConfigFile } from '../image/oci.js';

/** An image state between steps: its config and its layers. */
export interface ImageState {
  config: ImageConfigFile;
  layers: Descriptor[];
}

/** The ID a state has as an image (the digest of its config bytes). */
export function stateId(s: ImageState): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(s.config)).digest('hex')}`;
}

/** A cache key from its parts. */
export function cacheKey(parent: ImageState, instruction: string, contentChecksum = ''): string {
  return createHash('sha256')
    .update(`${stateId(parent)}\n${instruction}\n${contentChecksum}`)
    .digest('hex');
}

/** Where `RUN --mount=type=cache` folders live, kept between builds until `builder prune`. */
export function cacheMountsDir(root: string): string {
  return join(root, 'build-cache-mounts');
}

export class BuildCache {
  private readonly dir: string;

  constructor(private readonly root: string) {
    this.dir = join(root, 'build-cache');
  }

  /** The state recorded under `key`, if every layer it names is still stored. */
  get(key: string, content: Provider): ImageState | undefined {
    const file = join(this.dir, `${key}.json`);
    if (!existsSync(file)) return undefined;
    let state: ImageState;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as ImageState;
    } catch {
      // A torn or foreign file is a miss; the step runs again and rewrites it.
      return undefined;
    }
    if (!state.config?.rootfs || !Array.isArray(state.layers)) return undefined;
    return state.layers.every((l) => content.has(l.digest)) ? state : undefined;
  }

  async put(key: string, state: ImageState): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(join(this.dir, `${key}.json`), state);
  }

  /** Forgets every record and empties the RUN cache mounts; returns how many records there were. */
  prune(): number {
    rmSync(cacheMountsDir(this.root), { recursive: true, force: true });
    if (!existsSync(this.dir)) return 0;
    const n = readdirSync(this.dir).filter((f) => f.endsWith('.json')).length;
    rmSync(this.dir, { recursive: true, force: true });
    return n;
  }
}
