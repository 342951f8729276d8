/**
 * JSON text of JSON data as JSON.stringify writes it, for data nested too deep for its
 * recursion (a custom resource that keeps unknown fields may hold 10,000 levels, the request
 * limit): the native call first, and a loop with its own stack when that runs out.
 */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return stringifyDeep(value);
  }
}

type Frame = { v: Record<string, unknown> | unknown[]; keys: string[]; i: number; array: boolean };

/** The same text, built without recursion. Values JSON cannot hold are dropped as JSON.stringify drops them. */
export function stringifyDeep(value: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const scalar = (v: unknown): string | undefined =>
    v === undefined || typeof v === 'function' || typeof v === 'symbol' ? undefined : JSON.stringify(v);
  const open = (v: object) => {
    const array = Array.isArray(v);
    out.push(array ? '[' : '{');
    stack.push({ v: v as Frame['v'], keys: array ? [] : Object.keys(v), i: 0, array });
  };
  if (value === null || typeof value !== 'object') return scalar(value) as string;
  open(value);
  while (stack.length) {
    const f = stack[stack.length - 1] as Frame;
    const n = f.array ? (f.v as unknown[]).length : f.keys.length;
    if (f.i >= n) {
      out.push(f.array ? ']' : '}');
      stack.pop();
      continue;
    }
    const i = f.i++;
    const key = f.array ? '' : (f.keys[i] as string);
    const v = f.array ? (f.v as unknown[])[i] : (f.v as Record<string, unknown>)[key];
    const isObject = v !== null && typeof v === 'object';
    const text = isObject ? undefined : scalar(v);
    // An object member JSON cannot hold is left out; an array keeps its place with null.
    if (!f.array && !isObject && text === undefined) continue;
    if (out[out.length - 1] !== '[' && out[out.length - 1] !== '{') out.push(',');
    if (!f.array) out.push(`${JSON.stringify(key)}:`);
    if (isObject) open(v as object);
    else out.push(text ?? 'null');
  }
  return out.join('');
}
