/**
 * `GET /images/search`: the registry's v1 search endpoint, as dockerd asks it. A term that
 * starts with a registry host (`localhost:5000/busybox`) searches that registry for the rest;
 * any other term searches Docker Hub. Registries that offer no search (the distribution
 * registry among them) answer 404, which becomes Docker's "Unexpected status code 404".
 */
import { BerthError, invalidArgument } from '../../core/errors.js';
import type { Credentials } from '../registry/auth-file.js';
import { RegistryClient } from '../registry/client.js';
import { discard, readBody } from '../registry/http.js';

/** One result, in the Docker API's shape. */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** The registry host a search term names (Docker's rule for the first path component) and the query. */
export function searchTarget(term: string): { host: string; query: string } {
  const slash = term.indexOf('/');
  const first = slash < 0 ? '' : term.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost'))
    return { host: first, query: term.slice(slash + 1) };
  return { host: 'docker.io', query: term };
}

/** Searches the registry `term` names; at most `limit` results. */
export async function searchRegistry(
  term: string,
  limit: number,
  o: { signal?: AbortSignal; credentials?: Credentials },
): Promise<SearchResult[]> {
  const { host, query } = searchTarget(term);
  if (!query)
    throw invalidArgument(`Invalid search term "${term}": name what to search for after the registry`);
  const client = new RegistryClient(host === 'docker.io' ? 'index.docker.io' : host, o);
  const params = new URLSearchParams({ q: query, n: String(limit) });
  const res = await client.request('GET', `/v1/search?${params}`, { scope: '' });
  if (res.status !== 200) {
    discard(res);
    throw new BerthError('Internal', `Unexpected status code ${res.status}`);
  }
  let parsed: { results?: Partial<SearchResult>[] };
  try {
    parsed = JSON.parse((await readBody(res, 8 * 1024 * 1024)).toString('utf8')) as typeof parsed;
  } catch (e) {
    throw new BerthError('Internal', `The search answer of ${host} is not JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return (parsed.results ?? []).slice(0, limit).map((r) => ({
    name: String(r.name ?? ''),
    description: String(r.description ?? ''),
    star_count: Number(r.star_count ?? 0),
    is_official: !!r.is_official,
    is_automated: !!r.is_automated,
  }));
}
