/** The `/images` routes: list, inspect, tag, remove, and create (pull, or import from the body). */
import { errorMessage, invalidArgument } from '../../core/errors.js';
import { familiarName } from '../image/reference.js';
import type { Progress } from '../registry/progress.js';
import type { Api } from './api.js';
import { flag, sendJson } from './http.js';
import type { Call, Router } from './router.js';

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000) || 0;

/** `repo` and `tag` query parameters as one reference (`tag` may also be a digest). */
function reference(repo: string, tag: string | null): string {
  if (!tag) return repo;
  return tag.startsWith('sha256:') ? `${repo}@${tag}` : `${repo}:${tag}`;
}

/** Docker's JSON progress stream on a response: one object a line. */
function jsonProgress(c: Call): { progress: Progress; line: (o: Record<string, unknown>) => void } {
  const res = c.res!;
  const line = (o: Record<string, unknown>) => res.write(`${JSON.stringify(o)}\n`);
  return {
    line,
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

/** Adds the image routes to `r`. */
export function imageRoutes(r: Router, api: Api): void {
  const { images, containers } = api.engine;

  r.add('GET', '/images/json', async (c) => {
    const inUse = new Map<string, number>();
    for (const rec of containers.list({ all: true }))
      inUse.set(rec.config.imageId, (inUse.get(rec.config.imageId) ?? 0) + 1);
    sendJson(
      c,
      200,
      images.list().map((i) => ({
        Id: i.id,
        ParentId: '',
        RepoTags: i.names.map(familiarName),
        RepoDigests: i.digests,
        Created: seconds(i.created),
        Size: i.size,
        SharedSize: -1,
        VirtualSize: i.size,
        Labels: {},
        Containers: inUse.get(i.id) ?? 0,
      })),
    );
  });

  r.add('POST', '/images/create', async (c) => {
    const from = c.query.get('fromImage');
    const src = c.query.get('fromSrc');
    if (!from && !src) throw invalidArgument('Either fromImage or fromSrc is required');
    c.res!.writeHead(200, { 'Content-Type': 'application/json' });
    const { progress, line } = jsonProgress(c);
    try {
      if (src) {
        if (src !== '-')
          throw invalidArgument(
            `Import from a URL ("${src}") is not supported: send the tarball as the body`,
          );
        const repo = c.query.get('repo');
        const row = await images.import(
          c.req,
          repo
            ? { name: reference(repo, c.query.get('tag')), sourceName: 'the request body' }
            : { sourceName: 'the request body' },
        );
        line({ status: row.id });
      } else {
        const ref = reference(from!, c.query.get('tag'));
        const row = await images.pull(ref, { progress, signal: c.signal });
        line({ status: `Digest: ${row.manifestDigest}` });
        line({ status: `Status: Downloaded newer image for ${familiarName(row.names[0] ?? ref)}` });
      }
    } catch (e) {
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
  r.add('POST', '/images/prune', async (c) => {
    const out = await images.prune({ all: false });
    sendJson(c, 200, { ImagesDeleted: out.reports, SpaceReclaimed: out.spaceReclaimed });
  });
}
