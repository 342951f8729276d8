/**
 * `mkdir -p` that always ends. Node's `mkdirSync(dir, { recursive: true })` retries for ever
 * when mkdir answers ENOENT although the parent exists (as /proc and other virtual file
 * systems do for a new name), so `--root /proc/x` hung. This makes the missing folders one
 * at a time from the deepest existing one down, and a folder that cannot be made is an
 * error naming it.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { invalidArgument } from './errors.js';

const reason = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err.code === 'ENOENT' ? 'no such file or directory' : (err.message ?? String(e));
};

/** Makes `dir` and its missing parents (each with `mode`); an existing folder is fine. */
export function makeDirs(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let isDir: boolean;
    try {
      isDir = statSync(d).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file further up; the walk reaches it and names it.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || d === '/')
        throw invalidArgument(`Cannot create folder "${dir}": ${reason(e)}`);
      missing.push(d);
      continue;
    }
    if (!isDir) throw invalidArgument(`Cannot create folder "${dir}": "${d}" is not a folder`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw invalidArgument(`Cannot create folder "${dir}": mkdir ${d}: ${reason(e)}`);
    }
  }
}
