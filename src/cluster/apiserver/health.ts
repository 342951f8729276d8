/**
 * `/healthz`, `/livez` and `/readyz` as kube-apiserver answers them: `ok`, or with `?verbose`
 * one `[+]name ok` line per check and `livez check passed`; a failing check is `[-]name failed:
 * reason withheld` and a 500; `/readyz/NAME` runs one check, 404 for a name it does not know;
 * `?exclude=NAME` leaves checks out. Liveness does not wait for the start-up hooks to finish
 * (a server still starting is alive); readiness and the legacy healthz do.
 */
import type { ServerResponse } from 'node:http';

const endpoints = ['healthz', 'livez', 'readyz'] as const;
type Endpoint = (typeof endpoints)[number];

/** The checks of one endpoint, by upstream's names; `started` is whether the start-up hooks ran. */
function checks(endpoint: Endpoint, started: boolean): [string, boolean][] {
  const base: [string, boolean][] = [
    ['ping', true],
    ['log', true],
    ['etcd', true],
  ];
  if (endpoint === 'readyz') base.push(['etcd-readiness', true], ['informer-sync', started]);
  base.push(['poststarthook/berth-bootstrap-objects', endpoint === 'livez' || started]);
  if (endpoint === 'readyz') base.push(['shutdown', true]);
  return base;
}

/** Answers `path` when it is a health endpoint (true), or leaves it (false). */
export function serveHealth(path: string, url: URL, res: ServerResponse, started: boolean): boolean {
  const [, endpoint, ...rest] = path.split('/');
  if (!endpoints.includes(endpoint as Endpoint)) return false;
  const all = checks(endpoint as Endpoint, started);
  const text = (code: number, body: string) => {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  };
  if (rest.length) {
    const one = all.find(([name]) => name === rest.join('/'));
    if (!one) text(404, '404 page not found\n');
    else text(one[1] ? 200 : 500, one[1] ? 'ok' : 'internal server error: reason withheld\n');
    return true;
  }
  const excluded = new Set(url.searchParams.getAll('exclude'));
  const run = all.filter(([name]) => !excluded.has(name));
  const passed = run.every(([, ok]) => ok);
  const verbose = url.searchParams.has('verbose');
  if (passed && !verbose) {
    text(200, 'ok');
    return true;
  }
  const lines = run.map(([name, ok]) => (ok ? `[+]${name} ok` : `[-]${name} failed: reason withheld`));
  for (const name of excluded) lines.push(`[+]${name} excluded: ok`);
  lines.push(`${endpoint} check ${passed ? 'passed' : 'failed'}`);
  text(passed ? 200 : 500, `${lines.join('\n')}\n`);
  return true;
}
