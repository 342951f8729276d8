/**
 * `images --filter` with Docker's keys: `dangling=true|false` (no name), `label=KEY` or
 * `label=KEY=VALUE` (the image config's labels), `reference=PATTERN` (a shell pattern
 * matched against `repo` and `repo:tag` as Docker shows them), `before=IMAGE` and
 * `since=IMAGE` (created before or after that image). Keys combine with AND, repeated
 * values of one key with OR, as Docker's. An unknown key is Docker's "invalid filter".
 */
import { invalidArgument } from '../../core/errors.js';
import { labelMatches } from '../label-filter.js';
import type { ImageRow } from './image-index.js';
import { findImage, type ImageStore, readImageConfig } from './image-store.js';
import { familiarName } from './reference.js';

/** `*` and `?` as path.Match has them (`*` stops at `/`), the rest literal. */
function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

const KEYS = new Set(['dangling', 'label', 'reference', 'before', 'since']);

/**
 * Whether the stored name `name` matches one of the `reference` filter's patterns, as Docker
 * shows it (`repo:tag`) or by its repository alone; Docker lists only the tags that match.
 */
export function referenceMatches(patterns: readonly string[], name: string): boolean {
  const f = familiarName(name);
  const repo = f.slice(0, f.lastIndexOf(':'));
  return patterns.some((p) => {
    const re = globToRegExp(p);
    return re.test(f) || re.test(repo);
  });
}

/** The images of `rows` that pass `filters` (`KEY=VALUE` strings). */
export async function filterImages(
  store: ImageStore,
  rows: ImageRow[],
  filters: readonly string[],
): Promise<ImageRow[]> {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = i < 0 ? f : f.slice(0, i);
    if (!KEYS.has(key)) throw invalidArgument(`Invalid filter '${key}'`);
    if (i < 0) throw invalidArgument(`Invalid filter '${f}': use KEY=VALUE`);
    by.set(key, [...(by.get(key) ?? []), f.slice(i + 1)]);
  }
  const tests: ((r: ImageRow) => boolean | Promise<boolean>)[] = [];
  const dangling = by.get('dangling');
  if (dangling) {
    for (const v of dangling)
      if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0')
        throw invalidArgument(`Invalid filter 'dangling=${v}'`);
    tests.push((r) => dangling.some((v) => (r.names.length === 0) === (v === 'true' || v === '1')));
  }
  const refs = by.get('reference');
  if (refs) tests.push((r) => r.names.some((n) => referenceMatches(refs, n)));
  for (const key of ['before', 'since'] as const) {
    for (const ref of by.get(key) ?? []) {
      const at = Date.parse(findImage(store, ref).created);
      tests.push((r) => (key === 'before' ? Date.parse(r.created) < at : Date.parse(r.created) > at));
    }
  }
  const labels = by.get('label');
  if (labels)
    tests.push(async (r) => {
      const have = (await readImageConfig(store, r)).config?.Labels ?? {};
      return labels.every((l) => labelMatches(have, l));
    });
  const out: ImageRow[] = [];
  for (const r of rows) {
    let ok = true;
    for (const t of tests) if (!(await t(r))) ok = false;
    if (ok) out.push(r);
  }
  return out;
}
