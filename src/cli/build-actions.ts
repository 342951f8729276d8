import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { buildImage } from '../engine/build/builder.js';
import { BuildCache } from '../engine/build/cache.js';
import { type BuildContext, folderContext, tarContext } from '../engine/build/context.js';
import { withEngine } from './engine.js';

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  pull?: boolean;
  label: string[];
  iidfile?: string;
  network?: string;
  secret: string[];
  progress: string;
  quiet?: boolean;
}

/** `K=V` flags as a map; `--build-arg K` alone takes K from this process's environment, as Docker does. */
function pairs(values: readonly string[], flag: string, fromEnv: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw invalidArgument(`Invalid ${flag} "${v}": expected KEY=VALUE`);
    if (eq < 0) {
      if (!fromEnv) throw invalidArgument(`Invalid ${flag} "${v}": expected KEY=VALUE`);
      const env = process.env[v];
      if (env !== undefined) out.set(v, env);
      continue;
    }
    out.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return out;
}

/** `--secret id=X,src=F` (also `source=`, and `env=` is refused: only files). */
function secrets(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const f = new Map(v.split(',').map((p) => p.split('=', 2) as [string, string]));
    const id = f.get('id');
    const src = f.get('src') ?? f.get('source');
    if (!id || !src) throw invalidArgument(`Invalid --secret "${v}": expected id=ID,src=FILE`);
    if (!existsSync(src) || !statSync(src).isFile())
      throw invalidArgument(`Invalid --secret "${v}": the file "${src}" does not exist`);
    out.set(id, resolve(src));
  }
  return out;
}

export async function buildAction(cmd: Command, contextArg: string, opts: BuildFlags): Promise<void> {
  if (!['auto', 'plain', 'tty'].includes(opts.progress))
    throw invalidArgument(`Invalid --progress value "${opts.progress}": use auto, plain or tty`);
  if (opts.file === '-' && contextArg === '-')
    throw invalidArgument('Cannot read both the Dockerfile and the context from standard input');
  const buildArgs = pairs(opts.buildArg, '--build-arg', true);
  const labels = Object.fromEntries(pairs(opts.label, '--label', false));
  const secretFiles = secrets(opts.secret);
  // With -q the output is kept and shown only when the build fails.
  const progress = opts.quiet ? new PassThrough() : process.stderr;
  const kept: Buffer[] = [];
  if (opts.quiet) progress.on('data', (b: Buffer) => kept.push(b));
  // Ctrl-C or a TERM stops the build; the step container then running is removed, not left behind.
  const cancel = new AbortController();
  const onSignal = () => cancel.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await withEngine(cmd, async (engine) => {
    const g = cmd.optsWithGlobals() as { root: string };
    let context: BuildContext;
    const isFolder = contextArg !== '-' && existsSync(contextArg) && statSync(contextArg).isDirectory();
    if (isFolder) context = folderContext(contextArg);
    else {
      if (contextArg !== '-' && !existsSync(contextArg))
        throw invalidArgument(`unable to prepare context: path "${contextArg}" not found`);
      const scratch = join(g.root, 'tmp');
      mkdirSync(scratch, { recursive: true, mode: 0o700 });
      context = await tarContext(contextArg === '-' ? process.stdin : contextArg, scratch);
    }
    try {
      let dockerfile: string;
      let name = 'Dockerfile';
      if (opts.file === '-') dockerfile = readFileSync(0, 'utf8');
      else {
        // A folder context's -f is a path here; a tar context's is a path inside the archive.
        const path =
          opts.file === undefined
            ? join(context.dir, 'Dockerfile')
            : isFolder
              ? resolve(opts.file)
              : join(context.dir, resolve('/', opts.file));
        name = opts.file ?? 'Dockerfile';
        if (!existsSync(path) || !statSync(path).isFile())
          throw invalidArgument(
            `Cannot read the Dockerfile "${opts.file ?? join(contextArg, 'Dockerfile')}": no such file`,
          );
        dockerfile = readFileSync(path, 'utf8');
      }
      return await buildImage(engine, {
        dockerfile,
        dockerfileName: name.split('/').pop() ?? name,
        context,
        tags: opts.tag,
        buildArgs,
        ...(opts.target !== undefined ? { target: opts.target } : {}),
        noCache: !opts.cache,
        pull: opts.pull === true,
        labels,
        ...(opts.network !== undefined ? { network: opts.network } : {}),
        secrets: secretFiles,
        progress,
        signal: cancel.signal,
      });
    } catch (e) {
      if (opts.quiet) process.stderr.write(Buffer.concat(kept));
      throw e;
    } finally {
      context.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
  if (opts.iidfile) writeFileSync(opts.iidfile, result.id);
  if (opts.quiet) process.stdout.write(`${result.id}\n`);
}

export async function builderPruneAction(cmd: Command): Promise<void> {
  const g = cmd.optsWithGlobals() as { root: string };
  const n = new BuildCache(g.root).prune();
  process.stdout.write(`Deleted ${n} build cache ${n === 1 ? 'record' : 'records'}\n`);
}
