/**
 * Image garbage collection (the kubelet's image GC manager): when the file system holding
 * the images is used above the high threshold (85%), images no container of the node uses
 * are removed, least recently used first, until use is down to the low threshold (80%).
 * An image is only a candidate once it has been known for the minimum age (2 minutes), so
 * an image just pulled or imported for a pod about to start is not taken away. Last-used
 * times live in memory, as in the kubelet: after a restart every image counts as just seen.
 */
import { logger } from '../../core/log.js';
import type { NodeImage, PodRuntime } from './runtime.js';

const log = logger('agent');

export interface ImageGcOptions {
  runtime: Pick<PodRuntime, 'listImages' | 'listContainers' | 'removeImage'>;
  /** The image file system's size and free space, in bytes. */
  disk(): { total: number; available: number };
  highThresholdPercent?: number;
  lowThresholdPercent?: number;
  minAgeMs?: number;
  now?: () => number;
}

export interface ImageGcResult {
  /** Bytes the pass had to free (0 below the high threshold). */
  wanted: number;
  freed: number;
  removed: string[];
}

export class ImageGc {
  /** When each image id was first seen and last seen in use. */
  private readonly seen = new Map<string, { detected: number; lastUsed: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: ImageGcOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** One pass: notes which images are in use, and frees space if the disk is above the high mark. */
  async collect(): Promise<ImageGcResult> {
    const { images, inUse } = await this.look();
    const { total, available } = this.opts.disk();
    const high = this.opts.highThresholdPercent ?? 85;
    const low = this.opts.lowThresholdPercent ?? 80;
    if (total <= 0 || ((total - available) * 100) / total < high || !this.opts.runtime.removeImage)
      return { wanted: 0, freed: 0, removed: [] };
    return this.free(images, inUse, Math.ceil((total * (100 - low)) / 100 - available));
  }

  /**
   * Removes every unused image past the minimum age, whatever the disk's use (the kubelet's
   * DeleteUnusedImages, which the eviction manager calls under disk pressure).
   */
  async deleteUnused(): Promise<ImageGcResult> {
    const { images, inUse } = await this.look();
    return this.free(images, inUse, Number.POSITIVE_INFINITY);
  }

  /** Notes the images present and which are in use now. */
  private async look(): Promise<{ images: NodeImage[]; inUse: Set<string> }> {
    const now = this.now();
    const { runtime } = this.opts;
    const images = (await runtime.listImages()).filter((i) => i.id);
    const inUse = new Set((await runtime.listContainers()).map((c) => c.imageId));
    for (const i of images) {
      const e = this.seen.get(i.id!) ?? { detected: now, lastUsed: 0 };
      if (inUse.has(i.id!)) e.lastUsed = now;
      this.seen.set(i.id!, e);
    }
    const present = new Set(images.map((i) => i.id));
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
    return { images, inUse };
  }

  /** Removes unused images, least recently used first, until `wanted` bytes are freed. */
  private async free(images: NodeImage[], inUse: Set<string>, wanted: number): Promise<ImageGcResult> {
    const now = this.now();
    const { runtime } = this.opts;
    const result: ImageGcResult = { wanted: Number.isFinite(wanted) ? wanted : 0, freed: 0, removed: [] };
    if (!runtime.removeImage) return result;
    const minAge = this.opts.minAgeMs ?? 120_000;
    const candidates = images
      .filter((i) => !inUse.has(i.id!) && now - (this.seen.get(i.id!)?.detected ?? now) >= minAge)
      .sort((a, b) => {
        const sa = this.seen.get(a.id!)!;
        const sb = this.seen.get(b.id!)!;
        return sa.lastUsed - sb.lastUsed || sa.detected - sb.detected;
      });
    for (const i of candidates) {
      if (result.freed >= wanted) break;
      try {
        await runtime.removeImage(i.id!);
      } catch (e) {
        // In use by a container outside the node's pods, or gone already: the next one.
        log.info('image not collected', { image: i.names[0] ?? i.id, err: e as Error });
        continue;
      }
      this.seen.delete(i.id!);
      result.freed += i.sizeBytes;
      result.removed.push(i.id!);
    }
    return result;
  }
}
