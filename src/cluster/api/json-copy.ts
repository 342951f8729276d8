/**
 * A deep copy of a value as JSON would carry it: what `JSON.parse(JSON.stringify(v))` gives,
 * without the text in between. Objects handed between the API server and a client in the same
 * process go through it, so that neither side holds the other's objects and the receiver sees
 * exactly what the wire would have shown it (members JSON cannot hold dropped, `toJSON` called).
 * cloneJson (json-clone.ts) copies data that is JSON already (a decoded body) as it is; what
 * the server answers may still hold undefined members or values with `toJSON`, hence this one.
 */
import { toJson } from './json-stringify.js';

function copy(v: unknown, inArray: boolean): unknown {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      // JSON writes -0 as 0 and has no NaN or infinities.
      return v === 0 ? 0 : Number.isFinite(v) ? v : null;
    case 'object':
      break;
    case 'bigint':
      // JSON.stringify throws on it; so does the copy, with the same error.
      return JSON.stringify(v);
    default:
      // undefined, functions and symbols: left out of objects, null in arrays (as JSON does).
      return inArray ? null : undefined;
  }
  const o = v as { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') return copy(o.toJSON(), inArray);
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copy(v[i], true);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const c = copy((v as Record<string, unknown>)[key], false);
    if (c !== undefined) out[key] = c;
  }
  return out;
}

/** The value as it would arrive after a trip through JSON text. */
export function jsonCopy<T>(value: T): T {
  try {
    return copy(value, false) as T;
  } catch (e) {
    // Nesting too deep for the recursion (a custom resource may hold 10,000 levels): the text way.
    if (!(e instanceof RangeError)) throw e;
    return JSON.parse(toJson(value)) as T;
  }
}
