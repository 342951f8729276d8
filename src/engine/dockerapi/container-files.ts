/**
 * The routes over a container's files: the archive endpoints behind `docker cp` (HEAD and
 * GET answer the path's stat in `X-Docker-Container-Path-Stat`; PUT unpacks a tar into a
 * folder), `export`, and `POST /commit`.
 */
import { invalidArgument } from '../../core/errors.js';
import type { PathStat } from '../engine.js';
import type { Api } from './api.js';
import { flag, sendJson } from './http.js';
import type { Call, Router } from './router.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

const statHeader = (s: PathStat) => Buffer.from(JSON.stringify(s)).toString('base64');

function archivePath(c: Call): string {
  const path = c.query.get('path');
  if (!path) throw invalidArgument('path is required: name the file or folder in the container');
  return path;
}

/** Adds the routes to `r`. */
export function containerFileRoutes(r: Router, api: Api): void {
  const { containers } = api.engine;

  // HEAD is routed here too: the stat alone.
  r.add('GET', '/containers/{id}/archive', async (c) => {
    const path = archivePath(c);
    const stat = await containers.statPath(c.params.id!, path);
    const res = c.res!;
    res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/x-tar' });
    if (c.req.method !== 'HEAD') await containers.archive(c.params.id!, path, res);
    res.end();
  });

  r.add('PUT', '/containers/{id}/archive', async (c) => {
    // The docker CLI asks for the archive's owners with `cp -a` (copyUIDGID); root otherwise.
    const keepOwners = ['1', 'true'].includes(c.query.get('copyUIDGID') ?? '');
    await containers.extract(c.params.id!, archivePath(c), c.req, { keepOwners });
    sendJson(c, 200);
  });

  r.add('GET', '/containers/{id}/export', async (c) => {
    const rec = containers.get(c.params.id!);
    const res = c.res!;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await containers.export(rec.id, res);
    res.end();
  });

  r.add('POST', '/commit', async (c) => {
    const container = c.query.get('container');
    if (!container) throw invalidArgument('container is required: name the container to commit');
    const repo = c.query.get('repo');
    const tag = c.query.get('tag');
    const id = await containers.commit(container, {
      ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
      ...(c.query.get('author') ? { author: c.query.get('author')! } : {}),
      ...(c.query.get('comment') ? { message: c.query.get('comment')! } : {}),
      changes: c.query.getAll('changes').filter(Boolean),
      // Docker pauses unless told not to.
      pause: c.query.get('pause') === null || flag(c, 'pause'),
    });
    sendJson(c, 201, { Id: id });
  });
}
