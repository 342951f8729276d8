/**
 * The build context: a folder the builder reads COPY and ADD sources from, with its
 * .dockerignore rules. A folder is used where it is; a tar (a file or a stream, such as the
 * CLI's stdin or, later, the Docker API's `/build` body) is unpacked first into a private
 * folder through the hardened layer unpacker, so `..` entries, absolute names and links
 * out of the archive are refused before anything is read.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, notFound } from '../../core/errors.js';
import { openLayer } from '../snapshot/snapshots.js';
import { unpackLayer } from '../snapshot/unpack.js';
import { IgnoreRules } from './dockerignore.js';

export interface BuildContext {
  /** The context's root folder. */
  dir: string;
  ignore: IgnoreRules;
  /** Removes what was unpacked (nothing for a folder used in place). */
  close(): void;
}

function rulesOf(dir: string): IgnoreRules {
  const file = join(dir, '.dockerignore');
  return existsSync(file) ? IgnoreRules.parse(readFileSync(file, 'utf8')) : new IgnoreRules([]);
}

/** A folder as the context, used in place. */
export function folderContext(path: string): BuildContext {
  const dir = resolve(path);
  if (!existsSync(dir)) throw notFound(`unable to prepare context: path "${path}" not found`);
  if (!statSync(dir).isDirectory())
    throw invalidArgument(`unable to prepare context: "${path}" is not a folder or a tar archive`);
  return { dir, ignore: rulesOf(dir), close: () => undefined };
}

/**
 * A tar archive (plain, gzip or zstd) as the context, unpacked below `scratch` (a folder in
 * the engine's store, so nothing is written elsewhere).
 */
export async function tarContext(tar: Readable | string, scratch: string): Promise<BuildContext> {
  const work = mkdtempSync(join(scratch, 'context-'));
  try {
    let file = typeof tar === 'string' ? tar : join(work, 'context.tar');
    if (typeof tar !== 'string') await pipeline(tar, createWriteStream(file, { mode: 0o600 }));
    file = resolve(file);
    const dir = join(work, 'root');
    mkdirSync(dir, { mode: 0o700 });
    try {
      await unpackLayer(await openLayer(file), dir);
    } catch (e) {
      throw invalidArgument(`unable to read the build context archive: ${(e as Error).message}`, e);
    }
    if (typeof tar !== 'string') rmSync(join(work, 'context.tar'), { force: true });
    return { dir, ignore: rulesOf(dir), close: () => rmSync(work, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}
