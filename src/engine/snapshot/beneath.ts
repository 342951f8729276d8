import { closeSync, constants, lstatSync, mkdirSync, open, openSync } from 'node:fs';
import { promisify } from 'node:util';

/** Opens a directory without following a symlink at its final name. */
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Creates a file that must not exist yet; a symlink at the name is never followed. */
const O_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const openAsync = promisify(open);
/** Directory fds kept open between entries; older ones are closed and reopened on demand. */
const KEEP = 1024;

/** `find`'s answer from `dir`'s walk: the path is not (or no longer) a directory. */
class NotThere extends Error {}

/**
 * The directories beneath one root, reached only through open directory fds: Node has no
 * openat, so every name is resolved as `/proc/self/fd/<dir fd>/<name>`, a single component
 * looked up in the directory the fd holds (the kernel follows the fd, not a path), and every
 * directory is opened with O_NOFOLLOW. A symlink planted anywhere in the tree therefore can
 * never lead a later write, chmod, chown or utimes outside the root.
 *
 * Directory fds are cached by their path below the root. An fd handed out stays valid until
 * the next `trim()` (call it between units of work), even if `forget()` dropped it, so a
 * name built from it can never come to mean another file through fd number reuse.
 */
export class Beneath {
  private readonly fds = new Map<string, number>();
  private retired: number[] = [];
  private closed = false;

  constructor(root: string) {
    this.fds.set('', openSync(root, O_DIR));
  }

  /** A path for `name` inside the directory `fd`, resolved from the fd. */
  at(fd: number, name: string): string {
    return `/proc/self/fd/${fd}/${this.component(name)}`;
  }

  /** The same for a child process (mknod, setfattr): our fd seen through our pid; no `name` means the directory itself. */
  forChild(fd: number, name?: string): string {
    if (name !== undefined) return `/proc/${process.pid}/fd/${fd}/${this.component(name)}`;
    this.check();
    return `/proc/${process.pid}/fd/${fd}`;
  }

  private component(name: string): string {
    this.check();
    if (name === '' || name === '.' || name === '..' || name.includes('/'))
      throw new Error(`"${name}" is not a single path component`);
    return name;
  }

  /** Creates the file `name` in the directory `fd` (EEXIST if anything is there) and returns its fd for writing. */
  createFile(fd: number, name: string, mode: number): number {
    return openSync(this.at(fd, name), O_NEW_FILE, mode);
  }

  /**
   * The same on the thread pool: creating an inode can take the kernel a millisecond on a
   * busy file system, and an unpack of many small files must not spend it on the event loop.
   * `fd` must stay open until this settles (it does until the next `trim()`).
   */
  createFileAsync(fd: number, name: string, mode: number): Promise<number> {
    return openAsync(this.at(fd, name), O_NEW_FILE, mode);
  }

  /**
   * The fd of the directory at `parts` below the root. Every component must be a real
   * directory; with `create`, missing ones are made (mode 0755). `refuse` turns a reason
   * into the caller's error.
   */
  dir(parts: readonly string[], create: boolean, refuse: (why: string) => Error): number {
    this.check();
    const keys: string[] = [];
    let k = '';
    for (const p of parts) {
      k = k ? `${k}/${p}` : p;
      keys.push(k);
    }
    let fd = this.fds.get('')!;
    let start = 0;
    for (let i = keys.length - 1; i >= 0; i--) {
      const cached = this.fds.get(keys[i]!);
      if (cached !== undefined) {
        // Most recently used last, so trim() closes the ones unused longest.
        this.fds.delete(keys[i]!);
        this.fds.set(keys[i]!, cached);
        fd = cached;
        start = i + 1;
        break;
      }
    }
    for (let i = start; i < parts.length; i++) {
      fd = this.openChild(fd, parts[i]!, keys[i]!, create, refuse);
      this.fds.set(keys[i]!, fd);
    }
    return fd;
  }

  /** Like `dir` without creating: undefined when a component is missing, a symlink or not a directory. */
  find(parts: readonly string[]): number | undefined {
    try {
      return this.dir(parts, false, () => new NotThere());
    } catch (e) {
      if (e instanceof NotThere) return undefined;
      throw e;
    }
  }

  private openChild(
    parent: number,
    name: string,
    key: string,
    create: boolean,
    refuse: (why: string) => Error,
  ): number {
    const path = this.at(parent, name);
    try {
      return openSync(path, O_DIR);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && create) {
        mkdirSync(path, 0o755);
        return openSync(path, O_DIR);
      }
      if (code === 'ENOENT') throw refuse(`"${key}" does not exist`);
      if (code === 'ENOTDIR' || code === 'ELOOP') {
        if (lstatSync(path).isSymbolicLink())
          throw refuse(`"${key}" is a symlink; going through it could escape the layer`);
        throw refuse(`"${key}" is not a directory`);
      }
      throw e;
    }
  }

  /** Drops the cached fds of `key` and everything below it (it was removed or replaced). */
  forget(key: string): void {
    if (key === '') throw new Error('the root cannot be forgotten');
    const below = `${key}/`;
    for (const [k, fd] of this.fds) {
      if (k === key || k.startsWith(below)) {
        this.fds.delete(k);
        this.retired.push(fd);
      }
    }
  }

  /** Closes forgotten fds and the least recently used ones beyond the cache size. Call only between units of work. */
  trim(): void {
    for (const fd of this.retired) closeSync(fd);
    this.retired = [];
    if (this.fds.size <= KEEP) return;
    for (const [k, fd] of this.fds) {
      if (this.fds.size <= KEEP / 2) break;
      if (k === '') continue;
      this.fds.delete(k);
      closeSync(fd);
    }
  }

  /** Closes every fd; the tree cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [...this.retired, ...this.fds.values()]) closeSync(fd);
    this.retired = [];
    this.fds.clear();
  }

  private check(): void {
    if (this.closed) throw new Error('the directory tree was closed');
  }
}
