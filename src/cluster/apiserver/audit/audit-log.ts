/**
 * The audit log file: JSON lines appended off the request path (a request only queues its
 * line; one write at a time drains the queue), rotated by size as kube-apiserver's
 * lumberjack rotates it: the full file is renamed to NAME-<time>.EXT and a new one started;
 * backups beyond `maxBackups`, or older than `maxAgeDays`, are removed. `close` writes what
 * is queued.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Writable } from 'node:stream';

export interface AuditLogOptions {
  /** The file, or a stream (`--audit-log-path -` is standard output). */
  target: { path: string } | { stream: Writable };
  /** Rotate once the file would pass this many megabytes. Default: 100 (as 0 means upstream). */
  maxSizeMB?: number;
  /** Rotated files to keep; 0 keeps them all. Default: 0. */
  maxBackups?: number;
  /** Days to keep rotated files; 0 keeps them however old. Default: 0. */
  maxAgeDays?: number;
}

export class AuditLog {
  private queue: string[] = [];
  private draining?: Promise<void>;
  private file?: fs.FileHandle;
  private size = 0;
  private readonly maxBytes: number;
  /** The last write error, kept until `close` reports it; logging never fails a request. */
  private failure?: Error;

  constructor(
    private readonly opts: AuditLogOptions,
    /** Told of a failed write (once per failure), so the server can say so. */
    private readonly onError: (e: Error) => void = () => {},
  ) {
    this.maxBytes = (opts.maxSizeMB || 100) * 1024 * 1024;
  }

  /** Queues one event; returns at once. */
  write(event: object): void {
    this.queue.push(`${JSON.stringify(event)}\n`);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.file?.close();
    this.file = undefined;
  }

  private async drain(): Promise<void> {
    // Lines queued while a write is under way go out together in the next one.
    while (this.queue.length) {
      const text = this.queue.join('');
      this.queue = [];
      try {
        await this.append(text);
      } catch (e) {
        if (this.failure?.message !== (e as Error).message) this.onError(e as Error);
        this.failure = e as Error;
      }
    }
  }

  private async append(text: string): Promise<void> {
    if ('stream' in this.opts.target) {
      const s = this.opts.target.stream;
      if (!s.write(text)) await new Promise((r) => s.once('drain', r));
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (!this.file) await this.open();
    if (this.size > 0 && this.size + bytes > this.maxBytes) await this.rotate();
    await (this.file as fs.FileHandle).appendFile(text);
    this.size += bytes;
  }

  private async open(): Promise<void> {
    const path = (this.opts.target as { path: string }).path;
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    this.file = await fs.open(path, 'a', 0o600);
    this.size = (await this.file.stat()).size;
  }

  private async rotate(): Promise<void> {
    const path = (this.opts.target as { path: string }).path;
    await this.file?.close();
    this.file = undefined;
    const ext = extname(path);
    const stem = join(dirname(path), basename(path, ext));
    const stamp = new Date().toISOString().replace(/:/g, '-').replace(/Z$/, '');
    await fs.rename(path, `${stem}-${stamp}${ext}`);
    await this.open();
    await this.prune(stem, ext);
  }

  private async prune(stem: string, ext: string): Promise<void> {
    const { maxBackups = 0, maxAgeDays = 0 } = this.opts;
    if (!maxBackups && !maxAgeDays) return;
    const dir = dirname(stem);
    const prefix = `${basename(stem)}-`;
    const backups = (await fs.readdir(dir))
      .filter(
        (n) => n.startsWith(prefix) && n.endsWith(ext) && /^\d{4}-\d\d-\d\dT/.test(n.slice(prefix.length)),
      )
      .sort()
      .reverse();
    const oldest = Date.now() - maxAgeDays * 86_400_000;
    for (const [i, name] of backups.entries()) {
      const stamp = name.slice(prefix.length, name.length - ext.length);
      const at = Date.parse(`${stamp.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3')}Z`);
      if ((maxBackups && i >= maxBackups) || (maxAgeDays && at < oldest))
        await fs.rm(join(dir, name), { force: true });
    }
  }
}
