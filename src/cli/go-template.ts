/**
 * The small part of Go's text/template that scripts pass to `--format`: `{{.Field.Sub}}`,
 * `{{json .Field}}`, `{{json .}}`, `{{upper .X}}`, `{{lower .X}}`, `{{index .Map "key"}}`, and literal text, with
 * `\t` and `\n` escapes as Docker's CLI accepts them. Anything else is refused with a clear
 * message rather than printed wrongly.
 */
import { invalidArgument } from '../core/errors.js';

function lookup(obj: unknown, path: string): unknown {
  if (path === '.') return obj;
  let v: unknown = obj;
  for (const key of path.slice(1).split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  return `map[${Object.entries(v as Record<string, unknown>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, x]) => `${k}:${show(x)}`)
    .join(' ')}]`;
}

/** Renders `template` against `obj`. */
export function renderTemplate(template: string, obj: unknown): string {
  const text = template.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return text.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const index = /^index\s+(\.\S*)\s+"([^"]*)"$/.exec(expr);
    if (index) return show((lookup(obj, index[1]!) as Record<string, unknown> | undefined)?.[index[2]!]);
    const parts = expr.split(/\s+/);
    if (parts.length === 1 && parts[0]!.startsWith('.')) return show(lookup(obj, parts[0]!));
    if (parts.length === 2 && parts[1]!.startsWith('.')) {
      const v = lookup(obj, parts[1]!);
      if (parts[0] === 'json') return JSON.stringify(v ?? null);
      if (parts[0] === 'upper') return show(v).toUpperCase();
      if (parts[0] === 'lower') return show(v).toLowerCase();
    }
    throw invalidArgument(
      `Unsupported --format expression "{{${expr}}}": use {{.Field}}, {{json .Field}} or {{index .Map "key"}}`,
    );
  });
}
