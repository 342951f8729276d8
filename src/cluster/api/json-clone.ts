/**
 * A deep copy of JSON data (what a request body decodes to) without recursion, so a body as
 * deep as the 10,000-level limit is copied where structuredClone runs out of stack.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const root: unknown = Array.isArray(value) ? [] : {};
  const work: [from: Record<string, unknown>, to: Record<string, unknown>][] = [
    [value as Record<string, unknown>, root as Record<string, unknown>],
  ];
  for (let item = work.pop(); item; item = work.pop()) {
    const [from, to] = item;
    for (const key of Object.keys(from)) {
      const v = from[key];
      if (v === null || typeof v !== 'object') to[key] = v;
      else {
        const copy = Array.isArray(v) ? [] : {};
        to[key] = copy;
        work.push([v as Record<string, unknown>, copy as Record<string, unknown>]);
      }
    }
  }
  return root as T;
}
