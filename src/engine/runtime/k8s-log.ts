/**
 * Reading conmon's k8s-file logs: one line per chunk, `TIMESTAMP STREAM TAG CONTENT`, where
 * STREAM is stdout or stderr and TAG is F (a full line; a newline followed) or P (a partial
 * line, no newline). Used by `logs` and by foreground `run`/`attach`, which follow the log
 * instead of conmon's SOCK_SEQPACKET attach socket (Node cannot open those).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** One chunk of output. */
export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  /** The bytes, with the newline restored for full lines. */
  data: Buffer;
}

/** Parses one k8s-file line (without its newline); undefined if malformed. */
export function parseLogLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
  if (s3 < 0) {
    // A full line with empty content has no trailing space.
    if (s2 < 0) return undefined;
  }
  const time = line.subarray(0, s1).toString();
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString();
  const content = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  const data = tag.startsWith('F') ? Buffer.concat([content, Buffer.from('\n')]) : Buffer.from(content);
  return { time, stream, data };
}

/** Splits complete lines out of a buffer; returns them and the incomplete rest. */
export function splitLines(buf: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, start)) {
    lines.push(buf.subarray(start, i));
    start = i + 1;
  }
  return { lines, rest: buf.subarray(start) };
}

/**
 * Reads a log file's complete entries (missing file: none) and the byte offset just after
 * the last complete line, where following should resume.
 */
export function readLog(path: string): { entries: LogEntry[]; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { entries: [], size: 0 };
  }
  try {
    const size = statSync(path).size;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n <= 0) break;
      off += n;
    }
    const { lines, rest } = splitLines(buf.subarray(0, off));
    return {
      entries: lines.map(parseLogLine).filter((e): e is LogEntry => !!e),
      size: off - rest.length,
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * Where log-rotate.ts notes its one split of an oversized first rotated file: `FROM NEWEST`,
 * the inode of the file split and that of the newest part (the new `path.1`). A follower that
 * read the old file to its end looks for the newest part instead, so it reads nothing twice
 * and still reads the files rotated after the split.
 */
export function splitMarkerPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.split`);
}

/** The split noted at `splitMarkerPath(path)`, if any. */
function readSplitMarker(path: string): { from: number; newest: number } | undefined {
  try {
    const [from, newest] = readFileSync(splitMarkerPath(path), 'utf8').trim().split(' ').map(Number);
    return from !== undefined && newest !== undefined ? { from, newest } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Follows a log file from byte `from`, calling `onEntry` for every entry, until `stop()` is
 * called; `stop` drains what is left first. Uses inotify, with a slow poll as a safety net.
 */
export function followLog(
  path: string,
  from: number,
  onEntry: (e: LogEntry) => void,
): { stop: () => void; position: () => number } {
  let pos = from;
  let rest = Buffer.alloc(0);
  let fd: number | undefined;
  const chunk = Buffer.alloc(64 * 1024);
  const emitFrom = (buf: Buffer) => {
    const { lines, rest: r } = splitLines(Buffer.concat([rest, buf]));
    rest = Buffer.from(r);
    for (const l of lines) {
      const e = parseLogLine(l);
      if (e) onEntry(e);
    }
  };
  /** Reads `open` from `pos` to its current end. */
  const readToEnd = (open: number) => {
    for (;;) {
      const n = readSync(open, chunk, 0, chunk.length, pos);
      if (n <= 0) return;
      pos += n;
      emitFrom(chunk.subarray(0, n));
    }
  };
  /**
   * The inode of the last file read to its end when the file after it is not open yet: the
   * writer may not have made the new file when the rotation is seen, and more rotations may
   * come before it is opened, so the files between are found from here once it is.
   */
  let lastDone: number | undefined;
  const drain = () => {
    for (;;) {
      if (fd === undefined) {
        try {
          fd = openSync(path, 'r');
        } catch {
          // No file at `path` for a moment (between the rename and the new file): next time.
          return;
        }
        watchLive();
        if (lastDone !== undefined) {
          catchUp(lastDone, fstatSync(fd).ino);
          lastDone = undefined;
          pos = 0;
          rest = Buffer.alloc(0);
        }
      }
      readToEnd(fd);
      // The file was rotated (renamed, a new one made at `path`). A new file exists only once
      // the writer has reopened, so the old one is complete now; but the writer may have
      // added to it after the read above, so it is read to its end again. Files rotated after
      // ours and before the new live one is opened come next, then that one from its start.
      if (!rotated(fd)) return;
      readToEnd(fd);
      lastDone = fstatSync(fd).ino;
      closeSync(fd);
      fd = undefined;
    }
  };
  /** Reads, oldest first, the rotated files newer than inode `after` and older than the open live file `live`. */
  const catchUp = (after: number, live: number) => {
    for (const f of rotatedSince(after)) {
      let older: number;
      try {
        older = openSync(f, 'r');
      } catch (e) {
        // Dropped past max-file meanwhile: nothing left to read there.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      try {
        // The live file we hold was rotated meanwhile: it and what follows are read from `fd`.
        if (fstatSync(older).ino === live) break;
        pos = 0;
        rest = Buffer.alloc(0);
        readToEnd(older);
      } finally {
        closeSync(older);
      }
    }
  };
  const rotated = (open: number) => {
    try {
      return statSync(path).ino !== fstatSync(open).ino;
    } catch (e) {
      // No file at `path` for a moment (between the rename and the new file): not yet.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  };
  /**
   * The rotated files (`path.1` newest ... `path.N`) newer than the one with inode `ino`,
   * oldest first. When that file was rewritten into new files by the first rotation's split
   * (log-rotate.ts), whose content is what was already read, the files newer than the split's
   * newest part. When it is gone past max-file, all of them: every one is newer.
   */
  const rotatedSince = (ino: number): string[] => {
    const files: { path: string; ino: number }[] = [];
    for (let i = 1; ; i++) {
      try {
        files.push({ path: `${path}.${i}`, ino: statSync(`${path}.${i}`).ino });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        throw e;
      }
    }
    let at = files.findIndex((f) => f.ino === ino);
    if (at < 0) {
      const split = readSplitMarker(path);
      if (split?.from === ino) at = files.findIndex((f) => f.ino === split.newest);
    }
    return (at < 0 ? files : files.slice(0, at)).map((f) => f.path).reverse();
  };
  /** inotify follows an inode, not a name: each new live file gets its own watch. */
  const watchLive = () => {
    watcher?.close();
    try {
      watcher = watch(path, () => drain());
    } catch {
      watcher = undefined; // not there (yet): the poll picks it up
    }
  };
  let watcher: ReturnType<typeof watch> | undefined;
  const poll = setInterval(drain, 250);
  drain();
  return {
    position: () => pos,
    stop: () => {
      drain();
      watcher?.close();
      clearInterval(poll);
      if (fd !== undefined) closeSync(fd);
    },
  };
}
