/**
 * The engine facade's image operations: the store's images, registries (pull, push) and
 * archives (import, load, save), each journaled. Registry and archive code loads on first use.
 */
import type { Readable, Writable } from 'node:stream';
import { BerthError, errorCode } from '../../core/errors.js';
import type { EngineContext } from '../container/context.js';
import { type HistoryRow, imageHistory } from '../image/history.js';
import { filterImages } from '../image/image-filter.js';
import type { ImageRow } from '../image/image-index.js';
import { findImage, inspectImage } from '../image/image-store.js';
import type { ImportOptions } from '../image/import.js';
import type { Loaded } from '../image/load.js';
import { familiarName } from '../image/reference.js';
import { pruneImages, type RemoveReport, removeImage } from '../image/remove.js';
import { imageMatches } from '../image/views.js';
import type { Credentials } from '../registry/auth-file.js';
import type { Progress } from '../registry/progress.js';

/** Options of pull and push. */
export interface TransferOptions {
  /** Plain HTTP and no certificate checks (`--tls-verify=false`). */
  insecure?: boolean;
  progress?: Progress;
  signal?: AbortSignal;
  /** Registry credentials for this transfer; default: those of the auth file. */
  credentials?: Credentials;
}

/** Image operations of the engine facade. */
export class ImageService {
  constructor(private readonly ctx: EngineContext) {}

  private readonly usedBy = (imageId: string) => this.ctx.containers.usersOfImage(imageId);

  /** Journals an image event; names are the familiar ones, as dockerd's (`bb:1`, not `docker.io/library/bb:1`). */
  private event(action: string, id: string, name?: string): void {
    this.ctx.events.append('image', action, id, name ? { name: familiarName(name) } : {});
  }

  /**
   * Checks that `registry` (a host, or a URL whose host is taken) accepts `credentials`, as
   * `docker login` asks the daemon to; nothing is stored (the client keeps its credentials).
   * A refusal is Unauthenticated in dockerd's words.
   */
  async login(registry: string, credentials: Credentials, o: { insecure?: boolean } = {}): Promise<void> {
    const { RegistryClient, isLoopbackRegistry } = await import('../registry/client.js');
    const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    const insecure = o.insecure ?? isLoopbackRegistry(host);
    try {
      await new RegistryClient(host, { insecure, credentials }).ping();
    } catch (e) {
      if (errorCode(e) !== 'Unauthenticated') throw e;
      throw new BerthError(
        'Unauthenticated',
        `login attempt to ${insecure ? 'http' : 'https'}://${host}/v2/ failed with status: 401 Unauthorized`,
        { cause: e },
      );
    }
  }

  /** Images, optionally those whose name starts with `ref`. */
  list(ref?: string): ImageRow[] {
    return this.ctx.images.index.list().filter((r) => imageMatches(r, ref));
  }

  /** {@link list} narrowed by Docker's `--filter` values (dangling, label, reference, before, since). */
  filtered(ref: string | undefined, filters: readonly string[]): Promise<ImageRow[]> {
    return filterImages(this.ctx.images, this.list(ref), filters);
  }

  /** An image by name, ID or ID prefix (NotFound: `No such image`). */
  get(ref: string): ImageRow {
    return findImage(this.ctx.images, ref);
  }

  /** Docker's `GET /images/{name}/json` document. */
  inspect(ref: string): Promise<Record<string, unknown>> {
    return inspectImage(this.ctx.images, ref);
  }

  /** Docker's `history` rows, newest first. */
  history(ref: string): Promise<HistoryRow[]> {
    return imageHistory(this.ctx.images, ref);
  }

  /** Gives an image another name. */
  tag(source: string, target: string): void {
    const row = findImage(this.ctx.images, source);
    this.ctx.images.index.tag(row.id, target);
    this.event('tag', row.id, target);
  }

  /** `rmi` with Docker's rules (an image a container uses is kept unless forced). */
  async remove(ref: string, o: { force?: boolean } = {}): Promise<RemoveReport[]> {
    const { id } = findImage(this.ctx.images, ref);
    const reports = await removeImage(this.ctx.images, ref, { force: o.force, usedBy: this.usedBy });
    for (const r of reports) {
      if ('Untagged' in r) this.event('untag', id, r.Untagged);
      else this.event('delete', r.Deleted);
    }
    return reports;
  }

  /** Removes dangling images (every unused one with `all`). */
  async prune(
    o: { all?: boolean; match?: (row: ImageRow) => boolean } = {},
  ): Promise<{ reports: RemoveReport[]; spaceReclaimed: number }> {
    const out = await pruneImages(this.ctx.images, { all: o.all, usedBy: this.usedBy, match: o.match });
    for (const r of out.reports) if ('Deleted' in r) this.event('delete', r.Deleted);
    return out;
  }

  /** Pulls from a registry; `signal` cancels (nothing partial becomes visible). */
  async pull(ref: string, o: TransferOptions & { platform?: string } = {}): Promise<ImageRow> {
    const { pullImage } = await import('../registry/pull.js');
    const row = await pullImage(this.ctx.images, ref, o);
    this.event('pull', row.id, row.names[0] ?? ref);
    return row;
  }

  /** Pushes `image` (as `dest`, default its own name); returns the manifest digest. */
  async push(image: string, dest: string | undefined, o: TransferOptions = {}): Promise<string> {
    const { pushImage } = await import('../registry/push.js');
    const digest = await pushImage(this.ctx.images, image, dest, o);
    this.event('push', findImage(this.ctx.images, image).id, dest ?? image);
    return digest;
  }

  /** A root filesystem tarball as a one-layer image. */
  async import(source: Readable, o: ImportOptions = {}): Promise<ImageRow> {
    const { importTarball } = await import('../image/import.js');
    const row = await importTarball(this.ctx.images, source, o);
    this.event('import', row.id, row.names[0] ? familiarName(row.names[0]) : undefined);
    return row;
  }

  /** Images from a `docker save` or OCI archive. */
  async load(input: Readable): Promise<Loaded[]> {
    const { loadArchive } = await import('../image/load.js');
    const loaded = await loadArchive(this.ctx.images, input);
    for (const l of loaded) this.event('load', l.id, l.name ? familiarName(l.name) : undefined);
    return loaded;
  }

  /** Writes images as one archive (docker-archive or oci-archive) to `out`. */
  async save(refs: string[], format: string, out: Writable): Promise<void> {
    const { saveImages } = await import('../image/save.js');
    await saveImages(this.ctx.images, refs, format, out);
    for (const ref of refs) this.event('save', findImage(this.ctx.images, ref).id, ref);
  }
}
