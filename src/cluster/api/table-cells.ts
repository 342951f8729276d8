/**
 * The pieces the server's Table columns are made of (table.ts), worded as upstream's printers
 * (pkg/printers/internalversion) word them: ages, label selectors, lists cut at three.
 */
import { type Obj, obj } from './field-values.js';
import { labelSelectorText } from './selectors.js';

/** A column of a kind's Table: its definition and how one object fills its cell. */
export interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description?: string;
  cell: (o: Obj) => unknown;
}

/** The value at a dotted path, or undefined when a step on the way is not an object. */
export const g = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((cur, p) => obj(cur)[p], o);

/**
 * Upstream's HumanDuration, which every AGE column uses: 45s, 5m3s, 15m, 3h20m, 10h, 3d4h,
 * 20d, 2y30d, 9y.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  const withRest = (big: number, unit: string, rest: number, restUnit: string) =>
    rest ? `${big}${unit}${rest}${restUnit}` : `${big}${unit}`;
  if (minutes < 10) return withRest(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRest(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRest(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRest(years, 'y', days % 365, 'd');
  return `${years}y`;
}

/** The age of a timestamp as the AGE column prints it; `<unknown>` without one. */
export function age(ts: unknown, now = Date.now()): string {
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts))) return '<unknown>';
  return humanDuration(now - Date.parse(ts));
}

/** Labels as `a=1,b=2` (sorted by key), `<none>` when there are none: upstream's FormatLabels. */
export function labelsText(labels: unknown): string {
  const entries = Object.entries((labels as Record<string, string> | undefined) ?? {});
  return (
    entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '<none>'
  );
}

/**
 * A LabelSelector as upstream's FormatLabelSelector prints it: its requirements sorted by key
 * (`app=web,tier in (a,b),!gone`), `<none>` for an empty one.
 */
export function selectorText(sel: unknown): string {
  return labelSelectorText(sel) || '<none>';
}

/** The first three entries and `+ N more...`, or `<unset>` for none: upstream's listWithMoreString. */
export function firstThree(items: string[]): string {
  if (items.length > 3) return `${items.slice(0, 3).join(',')} + ${items.length - 3} more...`;
  return items.join(',') || '<unset>';
}
