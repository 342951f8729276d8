/**
 * The `filters` of `GET /networks` and `GET /volumes`, over the documents those routes send, as
 * dockerd applies them: the values of one key match any of them, different keys must all match,
 * and an unknown key is refused with dockerd's "Invalid filter 'KEY'".
 */
import { invalidArgument } from '../../core/errors.js';
import { labelMatches } from '../label-filter.js';

/** A document's field values for one filter key, and how a value matches them. */
type Matcher<T> = (doc: T, value: string) => boolean;

/** dockerd's booleans in filters: `true`/`1` and `false`/`0`; anything else is refused. */
function truth(key: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalidArgument(`Invalid filter '${key}=${value}'`);
}

function applyFilters<T>(docs: T[], f: Record<string, string[]>, keys: Record<string, Matcher<T>>): T[] {
  for (const k of Object.keys(f)) if (!Object.hasOwn(keys, k)) throw invalidArgument(`Invalid filter '${k}'`);
  return docs.filter((d) =>
    Object.entries(f).every(([k, values]) => {
      if (!values.length) return true;
      // Labels must all be there, as in dockerd; other keys' values are alternatives.
      return k === 'label' ? values.every((v) => keys[k]!(d, v)) : values.some((v) => keys[k]!(d, v));
    }),
  );
}

/** A network document as `GET /networks` sends it. */
export interface NetworkDoc {
  Name: string;
  Id: string;
  Driver: string;
  Scope: string;
  Labels: Record<string, string>;
  Containers: Record<string, unknown>;
}

const BUILTIN = new Set(['bridge', 'host', 'none']);

/** `network ls --filter`: driver, id (prefix), label, name (substring), scope, type, dangling. */
export function filterNetworks<T extends NetworkDoc>(docs: T[], f: Record<string, string[]>): T[] {
  return applyFilters(docs, f, {
    driver: (d, v) => d.Driver === v,
    id: (d, v) => d.Id.startsWith(v),
    label: (d, v) => labelMatches(d.Labels, v),
    name: (d, v) => d.Name.includes(v),
    scope: (d, v) => d.Scope === v,
    type: (d, v) => {
      if (v !== 'builtin' && v !== 'custom') throw invalidArgument(`Invalid filter: 'type'='${v}'`);
      return BUILTIN.has(d.Name) === (v === 'builtin');
    },
    // dockerd's dangling networks: user networks without containers.
    dangling: (d, v) => (!BUILTIN.has(d.Name) && !Object.keys(d.Containers).length) === truth('dangling', v),
  });
}

/** A volume document as `GET /volumes` sends it. */
export interface VolumeDoc {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
}

/** `volume ls --filter`: dangling (no container uses it), driver, label, name (substring). */
export function filterVolumes<T extends VolumeDoc>(
  docs: T[],
  f: Record<string, string[]>,
  inUse: ReadonlySet<string>,
): T[] {
  return applyFilters(docs, f, {
    dangling: (d, v) => !inUse.has(d.Name) === truth('dangling', v),
    driver: (d, v) => d.Driver === v,
    label: (d, v) => labelMatches(d.Labels, v),
    name: (d, v) => d.Name.includes(v),
  });
}
