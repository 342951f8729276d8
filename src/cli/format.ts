/**
 * `--format` for list commands, as Docker's CLI does it: a Go template per row, or with a
 * leading `table` a header row (the template rendered against the column titles) and
 * columns aligned the way Go's tabwriter aligns Docker's tables (cells ending in a tab are
 * padded to the column's widest cell plus 3, at least 10; the last cell is not padded).
 */
import { parseTemplate } from './go-template.js';

/** A column title for a field Docker has no title for: `CreatedAt` -> `CREATED AT`. */
const titleOf = (field: string) => field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();

/** Aligns tab-separated cells into columns as Go's tabwriter.NewWriter(w, minWidth, 1, 3, ' ', 0) does. */
export function alignTabs(lines: string[], minWidth = 10): string[] {
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of cells)
    row.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? minWidth, c.length + 3);
    });
  return cells.map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]!) : c)).join(''));
}

/**
 * The lines `--format FORMAT` prints for `rows`; `titles` gives Docker's column titles by
 * field name (`ID` -> `CONTAINER ID`), other fields get their name in capitals.
 */
export function formatRows(
  format: string,
  rows: readonly object[],
  titles: Record<string, string>,
): string[] {
  const table = /^table(\s|$)/.exec(format);
  const render = parseTemplate(table ? format.slice(table[0].length) : format);
  const lines = rows.map((r) => render(r));
  if (!table) return lines;
  const fields = new Set([...Object.keys(titles), ...rows.flatMap((r) => Object.keys(r))]);
  const header = Object.fromEntries([...fields].map((f) => [f, titles[f] ?? titleOf(f)]));
  return alignTabs([render(header), ...lines]);
}

/** Labels as Docker's list formatters show them (`{{.Labels}}`): `k=v` joined by commas, sorted here for a stable order. */
export function labelList(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** A time as Go's time.Time prints it in Docker's list formatters (`{{.CreatedAt}}`): `2006-01-02 15:04:05 +0000 UTC`. */
export function goTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}
