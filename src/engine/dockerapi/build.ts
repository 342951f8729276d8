/**
 * `POST /build`, the classic builder's endpoint, which the docker CLI uses when BuildKit's
 * plugin is absent (or with DOCKER_BUILDKIT=0): the body is the context as a tar, the query
 * carries the build's options, and the answer is Docker's JSON stream (`stream` lines for
 * the output, `errorDetail` for a failure, the image ID in `aux`). The build itself is
 * Berth's builder (src/engine/build), as `berth build` runs it.
 */
import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pipeline, Transform, Writable } from 'node:stream';
import { errorMessage, invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { buildImage, RunFailed } from '../build/builder.js';
import { BuildCache } from '../build/cache.js';
import { type BuildContext, tarContext } from '../build/context.js';
import { familiarName } from '../image/reference.js';
import type { Api } from './api.js';
import { flag, sendJson } from './http.js';
import type { Call, Router } from './router.js';

/** A JSON object parameter (`buildargs`, `labels`) as string pairs; null values are skipped. */
function jsonMap(c: Pick<Call, 'query'>, name: string): Map<string, string> {
  const raw = c.query.get(name);
  const out = new Map<string, string>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw invalidArgument(`Invalid ${name} "${raw}": ${(e as Error).message}`, e);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalidArgument(`Invalid ${name} "${raw}": expected a JSON object of strings`);
  for (const [k, v] of Object.entries(parsed)) if (v !== null && v !== undefined) out.set(k, String(v));
  return out;
}

/** What the query asks for, checked before the body is read. */
export function buildQuery(c: Pick<Call, 'query'>) {
  if (c.query.get('remote'))
    throw invalidArgument(
      `Building from a remote context ("${c.query.get('remote')}") is not supported: send the context as a tar`,
    );
  if (c.query.get('version') === '2')
    throw invalidArgument(
      'BuildKit (version=2) is not supported: use the classic builder (DOCKER_BUILDKIT=0)',
    );
  const network = c.query.get('networkmode');
  return {
    tags: c.query.getAll('t').filter(Boolean),
    dockerfile: c.query.get('dockerfile') || 'Dockerfile',
    buildArgs: jsonMap(c, 'buildargs'),
    labels: Object.fromEntries(jsonMap(c, 'labels')),
    target: c.query.get('target') || undefined,
    noCache: flag(c, 'nocache'),
    pull: flag(c, 'pull'),
    quiet: flag(c, 'q'),
    network: network && network !== 'default' ? network : undefined,
  };
}

/**
 * The Dockerfile named by `name`, a path inside the context; it may be a link, but only to
 * a file inside the context.
 */
function readDockerfile(context: BuildContext, name: string): string {
  const missing = () =>
    invalidArgument(`Cannot locate specified Dockerfile: ${name}: no such file in the build context`);
  let path: string;
  try {
    path = realpathSync(join(context.dir, resolve('/', name)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
    throw e;
  }
  const root = realpathSync(context.dir);
  const rel = relative(root, path);
  if (rel.startsWith('..') || resolve(root, rel) !== path || !statSync(path).isFile()) throw missing();
  return readFileSync(path, 'utf8');
}

const log = logger('dockerapi');

/** Leading bytes of the compressed forms a context may come in (gzip, zstd, bzip2, xz). */
const COMPRESSED = [
  [0x1f, 0x8b],
  [0x28, 0xb5, 0x2f, 0xfd],
  [0x42, 0x5a, 0x68],
  [0xfd, 0x37, 0x7a, 0x58],
];

/**
 * The context tar with its end made whole: the docker CLI's `build -f- DIR` sends the added
 * Dockerfile last and stops right after its data, without the padding and the two zero
 * blocks that end a tar. dockerd's reader takes such an end as the archive's end; this adds
 * them (zeros after a complete archive change nothing). A compressed context is left alone.
 */
export function completeTar(): Transform {
  let size = 0;
  let head = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      const compressed = COMPRESSED.some((m) => m.every((b, i) => head[i] === b));
      if (size === 0 || compressed) return done();
      done(null, Buffer.alloc(((512 - (size % 512)) % 512) + 1024));
    },
  });
}

/** Adds `POST /build` and `POST /build/prune` to `r`. */
export function buildRoutes(r: Router, api: Api): void {
  const { engine } = api;
  // `docker builder prune` and the last step of `docker system prune`. The cache's records name
  // layers the image store keeps, so no space is counted as freed here.
  r.add('POST', '/build/prune', async (c) => {
    new BuildCache(engine.context.root).prune();
    sendJson(c, 200, { CachesDeleted: [], SpaceReclaimed: 0 });
  });
  r.add('POST', '/build', async (c) => {
    const q = buildQuery(c);
    const res = c.res!;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const line = (o: Record<string, unknown>) => res.write(`${JSON.stringify(o)}\n`);
    // The builder's output as `stream` messages; with q=1 only the ID is sent, as dockerd does.
    const progress = new Writable({
      decodeStrings: false,
      write(chunk: string | Buffer, _enc, done) {
        if (!q.quiet) line({ stream: chunk.toString() });
        done();
      },
    });
    let context: BuildContext | undefined;
    try {
      const scratch = join(engine.context.root, 'tmp');
      mkdirSync(scratch, { recursive: true, mode: 0o700 });
      // pipeline: a request that breaks off fails the unpacking instead of leaving it waiting.
      const body = pipeline(c.req, completeTar(), (e) => {
        if (e) log.debug('the build context did not arrive whole', { err: e });
      });
      context = await tarContext(body, scratch);
      const dockerfileName = q.dockerfile.split('/').pop() || 'Dockerfile';
      const result = await buildImage(engine, {
        dockerfile: readDockerfile(context, q.dockerfile),
        dockerfileName,
        context,
        tags: q.tags,
        buildArgs: q.buildArgs,
        ...(q.target ? { target: q.target } : {}),
        noCache: q.noCache,
        pull: q.pull,
        labels: q.labels,
        ...(q.network ? { network: q.network } : {}),
        progress,
        signal: c.signal,
      });
      line({ aux: { ID: result.id } });
      if (q.quiet) line({ stream: `${result.id}\n` });
      else {
        // The classic builder's last lines, which scripts read.
        line({ stream: `Successfully built ${result.id.replace(/^sha256:/, '').slice(0, 12)}\n` });
        for (const n of result.names) line({ stream: `Successfully tagged ${familiarName(n)}\n` });
      }
    } catch (e) {
      // The status is already sent: Docker reports a failed build in the stream. A failed RUN
      // is the classic builder's words with the step's status, which the CLI exits with.
      if (e instanceof RunFailed) {
        const message = `The command '${e.command.join(' ')}' returned a non-zero code: ${e.exitCode}`;
        line({ errorDetail: { code: e.exitCode, message }, error: message });
      } else line({ errorDetail: { message: errorMessage(e) }, error: errorMessage(e) });
    } finally {
      context?.close();
    }
    res.end();
  });
}
