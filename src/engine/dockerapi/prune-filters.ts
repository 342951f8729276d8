/**
 * The filters of Docker's prune endpoints (`docker container|image|network|volume prune
 * --filter`): `until` (created before a time or a duration ago) and `label` / `label!` (with
 * or without a value), checked up front so that a filter Berth does not know is refused
 * rather than ignored (ignoring one would prune more than asked).
 */
import { invalidArgument } from '../../core/errors.js';
import { parseSince } from '../container/logs.js';
import { labelMatches } from '../label-filter.js';

/** What a prune may look at of one object. */
export interface Prunable {
  /** RFC 3339. */
  created: string;
  labels: Record<string, string>;
}

/** A prune's filters: `match` says whether an object may go; the other keys are the endpoint's own. */
export interface PruneFilters {
  match: (o: Prunable) => boolean;
  /** `dangling` (images): false prunes unused tagged images too (`image prune -a`). */
  dangling?: boolean;
  /** `all` (volumes, API 1.42 on): named volumes too. */
  all?: boolean;
}

const truthy = (v: string) => v === 'true' || v === '1';

/** Parses `f` for an endpoint that accepts `allowed` keys; an unknown key is Docker's `Invalid filter`. */
export function pruneFilters(f: Record<string, string[]>, allowed: readonly string[]): PruneFilters {
  for (const k of Object.keys(f)) if (!allowed.includes(k)) throw invalidArgument(`Invalid filter '${k}'`);
  const until = f.until?.map((v) => {
    try {
      return parseSince(v);
    } catch {
      throw invalidArgument(`Invalid filter 'until=${v}': use a timestamp or a duration such as 24h`);
    }
  });
  const want = f.label ?? [];
  const refuse = f['label!'] ?? [];
  const out: PruneFilters = {
    match: (o) => {
      const created = Date.parse(o.created);
      if (until?.some((t) => !(created < t))) return false;
      if (!want.every((l) => labelMatches(o.labels, l))) return false;
      return !refuse.some((l) => labelMatches(o.labels, l));
    },
  };
  // As dockerd: any `false` wins (the CLI adds `dangling=true` beside a user's `dangling=false`).
  if (f.dangling) out.dangling = !f.dangling.some((v) => v === 'false' || v === '0');
  if (f.all) out.all = f.all.some(truthy);
  return out;
}
