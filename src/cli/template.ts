/**
 * The subset of Go templates that scripts pass to `--format`/`-f` most: `{{.Field.Sub}}`,
 * `{{json .Field}}` and `{{index .Map "key"}}`, mixed with literal text. Anything else is an
 * error naming the template, rather than silently printing nothing.
 */
export function formatTemplate(template: string, data: unknown): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const json = /^json\s+(.+)$/.exec(expr);
    if (json) return JSON.stringify(lookup(json[1]!, data));
    const index = /^index\s+(\S+)\s+"([^"]*)"$/.exec(expr);
    if (index) return show((lookup(index[1]!, data) as Record<string, unknown> | undefined)?.[index[2]!]);
    return show(lookup(expr, data));
  });
}

function lookup(path: string, data: unknown): unknown {
  if (path === '.') return data;
  if (!path.startsWith('.'))
    throw new Error(
      `Unsupported template expression "${path}": use {{.Field}}, {{json .Field}} or {{index .Map "key"}}`,
    );
  let cur: unknown = data;
  for (const key of path.slice(1).split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'object')
    return Array.isArray(v)
      ? `[${v.map(show).join(' ')}]`
      : `map[${Object.entries(v)
          .map(([k, x]) => `${k}:${show(x)}`)
          .join(' ')}]`;
  return String(v);
}
