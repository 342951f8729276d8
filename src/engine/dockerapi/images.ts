/**
 * The `/images` routes: list, inspect, history, tag, remove, prune, create (pull, or import
 * from the body), push, search, and save and load of docker archives.
 */
import { BerthError, errorMessage, invalidArgument, isNotFound, notFound } from '../../core/errors.js';
import { referenceMatches } from '../image/image-filter.js';
import { familiarName, normalizeReference, parseReference, repositoryOf } from '../image/reference.js';
import type { Progress } from '../registry/progress.js';
import type { Api } from './api.js';
import { filterStrings, filters, flag, sendJson } from './http.js';
import { pruneFilters } from './prune-filters.js';
import type { Call, Router } from './router.js';
import { searchRegistry } from './search.js';

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000) || 0;

/** `repo` and `tag` query parameters as one reference (`tag` may also be a digest). */
function reference(repo: string, tag: string | null): string {
  if (!tag) return repo;
  return tag.startsWith('sha256:') ? `${repo}@${tag}` : `${repo}:${tag}`;
}

/**
 * Docker's JSON progress stream on a response: one object a line. The status line goes with
 * the first object (`started` tells whether it has), so that a failure before any progress
 * (a manifest that is not there, a registry that cannot be reached) is an HTTP error, as
 * dockerd answers it, and the CLI prints `Error response from daemon: ...`.
 */
function jsonProgress(c: Call): {
  progress: Progress;
  line: (o: Record<string, unknown>) => void;
  started: () => boolean;
} {
  const res = c.res!;
  const line = (o: Record<string, unknown>) => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify(o)}\n`);
  };
  return {
    line,
    started: () => res.headersSent,
    progress: {
      update(id, status, current, total) {
        line({
          status,
          id,
          progressDetail: current === undefined ? {} : { current, ...(total ? { total } : {}) },
        });
      },
      done() {},
    },
  };
}

/** A pull that failed before any progress: a missing tag in dockerd's words, anything else as it is. */
function pullRefusal(e: unknown, ref: string | undefined): unknown {
  if (!ref || !isNotFound(e) || !/MANIFEST_UNKNOWN|manifest unknown/i.test(errorMessage(e))) return e;
  let name = ref;
  try {
    name = familiarName(normalizeReference(ref));
  } catch {
    // An unparsable reference fails before any registry is asked; the message names it as given.
  }
  return new BerthError('NotFound', `manifest for ${name} not found: manifest unknown: manifest unknown`, {
    cause: e,
  });
}

/**
 * The credentials in `X-Registry-Auth` (base64url JSON with username and password, as the
 * docker CLI sends them); none when the header is absent or carries no password.
 */
function registryAuth(c: Call): { credentials?: { username: string; password: string } } {
  const raw = c.req.headers['x-registry-auth'];
  if (typeof raw !== 'string' || !raw) return {};
  let auth: { username?: string; password?: string };
  try {
    auth = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as typeof auth;
  } catch (e) {
    throw invalidArgument(`Invalid X-Registry-Auth header: ${(e as Error).message}`, e);
  }
  return auth.username && auth.password
    ? { credentials: { username: auth.username, password: auth.password } }
    : {};
}

/** Adds the image routes to `r`. */
export function imageRoutes(r: Router, api: Api): void {
  const { images } = api.engine;

  r.add('GET', '/images/json', async (c) => {
    const f = filters(c);
    // `docker images NAME` is a reference filter; dockerd lists only the tags that match it.
    const refs = f.reference;
    const listed = await images.filtered(undefined, filterStrings(f));
    sendJson(
      c,
      200,
      listed.map((i) => ({
        Id: i.id,
        ParentId: '',
        RepoTags: (refs ? i.names.filter((n) => referenceMatches(refs, n)) : i.names).map(familiarName),
        RepoDigests: i.digests,
        Created: seconds(i.created),
        Size: i.size,
        SharedSize: -1,
        VirtualSize: i.size,
        Labels: {},
        // As dockerd's list: counted only for `system df` (the CLI shows N/A).
        Containers: -1,
      })),
    );
  });

  r.add('POST', '/images/create', async (c) => {
    const from = c.query.get('fromImage');
    const src = c.query.get('fromSrc');
    if (!from && !src) throw invalidArgument('Either fromImage or fromSrc is required');
    const { progress, line, started } = jsonProgress(c);
    let ref: string | undefined;
    try {
      if (src) {
        if (src !== '-')
          throw invalidArgument(
            `Import from a URL ("${src}") is not supported: send the tarball as the body`,
          );
        const repo = c.query.get('repo');
        const message = c.query.get('message');
        const row = await images.import(c.req, {
          sourceName: 'the request body',
          // `docker import -c` and `-m`.
          changes: c.query.getAll('changes').filter(Boolean),
          ...(repo ? { name: reference(repo, c.query.get('tag')) } : {}),
          ...(message ? { message } : {}),
        });
        line({ status: row.id });
      } else {
        ref = reference(from!, c.query.get('tag'));
        const row = await images.pull(ref, { progress, signal: c.signal, ...registryAuth(c) });
        line({ status: `Digest: ${row.manifestDigest}` });
        line({ status: `Status: Downloaded newer image for ${familiarName(row.names[0] ?? ref)}` });
      }
    } catch (e) {
      if (!started()) throw pullRefusal(e, ref);
      // The status is already sent: Docker reports a failed pull in the stream.
      line({ errorDetail: { message: errorMessage(e) }, error: errorMessage(e) });
    }
    c.res!.end();
  });

  r.addGreedy('GET', '/images/', 'name', '/json', async (c) => {
    sendJson(c, 200, await images.inspect(c.params.name!));
  });
  r.addGreedy('POST', '/images/', 'name', '/tag', async (c) => {
    const repo = c.query.get('repo');
    if (!repo) throw invalidArgument('repo is required: name the new reference');
    images.tag(c.params.name!, reference(repo, c.query.get('tag')));
    sendJson(c, 201);
  });
  r.addGreedy('DELETE', '/images/', 'name', '', async (c) => {
    sendJson(c, 200, await images.remove(c.params.name!, { force: flag(c, 'force') }));
  });
  r.addGreedy('GET', '/images/', 'name', '/history', async (c) => {
    sendJson(c, 200, await images.history(c.params.name!));
  });
  const save = async (c: Call, names: string[]) => {
    if (names.length === 0) throw invalidArgument('names is required: name the images to save');
    // Unknown names are refused before the archive starts.
    for (const n of names) images.get(n);
    const res = c.res!;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await images.save(names, 'docker-archive', res);
    res.end();
  };
  r.add('GET', '/images/get', (c) => save(c, c.query.getAll('names')));
  r.addGreedy('GET', '/images/', 'name', '/get', (c) => save(c, [c.params.name!]));
  r.add('POST', '/images/load', async (c) => {
    // The archive streams in as the request's body; the answer comes once every image in it
    // is stored (or in the stream, as Docker reports a failed load).
    c.res!.writeHead(200, { 'Content-Type': 'application/json' });
    const { line } = jsonProgress(c);
    try {
      for (const l of await images.load(c.req))
        line({ stream: l.name ? `Loaded image: ${familiarName(l.name)}\n` : `Loaded image ID: ${l.id}\n` });
    } catch (e) {
      line({ errorDetail: { message: errorMessage(e) }, error: errorMessage(e) });
    }
    c.res!.end();
  });
  r.add('GET', '/images/search', async (c) => {
    const term = c.query.get('term');
    if (!term) throw invalidArgument('term is required: say what to search for');
    const limit = Number(c.query.get('limit') || 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw invalidArgument(`Invalid limit ${c.query.get('limit')}: use 1 to 100`);
    const f = filters(c);
    const results = await searchRegistry(term, limit, { signal: c.signal, ...registryAuth(c) });
    const minStars = Number(f.stars?.[0] ?? 0);
    sendJson(
      c,
      200,
      results.filter(
        (x) =>
          x.star_count >= minStars &&
          (!f['is-official'] || String(x.is_official) === f['is-official'][0]) &&
          (!f['is-automated'] || String(x.is_automated) === f['is-automated'][0]),
      ),
    );
  });
  r.addGreedy('POST', '/images/', 'name', '/push', async (c) => {
    const name = reference(c.params.name!, c.query.get('tag'));
    const { progress, line } = jsonProgress(c);
    // dockerd names the repository first, then reports everything in the stream.
    const repo = familiarName(repositoryOf(parseReference(name)));
    line({ status: `The push refers to repository [${repo}]` });
    try {
      try {
        images.get(name);
      } catch (e) {
        if (isNotFound(e)) throw notFound(`An image does not exist locally with the tag: ${repo}`);
        throw e;
      }
      const digest = await images.push(name, undefined, {
        progress,
        signal: c.signal,
        ...registryAuth(c),
      });
      const tag = c.query.get('tag') || 'latest';
      line({ status: `${tag}: digest: ${digest}` });
      line({ progressDetail: {}, aux: { Tag: tag, Digest: digest } });
    } catch (e) {
      line({ errorDetail: { message: errorMessage(e) }, error: errorMessage(e) });
    }
    c.res!.end();
  });
  r.add('POST', '/images/prune', async (c) => {
    // Image labels are in each image's config, which the prune does not read: not a filter yet.
    const { match, dangling } = pruneFilters(filters(c), ['dangling', 'until']);
    const out = await images.prune({
      all: dangling === false,
      match: (row) => match({ created: row.created, labels: {} }),
    });
    sendJson(c, 200, { ImagesDeleted: out.reports, SpaceReclaimed: out.spaceReclaimed });
  });
}
