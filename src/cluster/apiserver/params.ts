/**
 * Query parameters with a type: a value that does not parse is a 400 naming the parameter
 * and the value, as kube-apiserver answers, never a silent default.
 */
import { badRequest } from '../api/status.js';

/** A whole-number parameter, or undefined when absent. */
export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name}: Invalid value: "${v}": must be a whole number`);
  return Number(v);
}

/**
 * A boolean parameter as kube-apiserver converts query strings: absent is false, `0` and
 * `false` (any case) are false, anything else is true (the Python client sends `watch=True`).
 */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** A resourceVersion: a revision of the store, a non-negative integer. */
export function parseResourceVersion(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw badRequest(
      `invalid resource version: resourceVersion: Invalid value: "${v}": must be a non-negative integer`,
    );
  return Number(v);
}

/** fieldValidation: Ignore, Warn (the default) or Strict. */
export function fieldValidationParam(q: URLSearchParams): 'Ignore' | 'Warn' | 'Strict' {
  const v = q.get('fieldValidation') || 'Warn';
  if (v !== 'Ignore' && v !== 'Warn' && v !== 'Strict')
    throw badRequest(
      `fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`,
    );
  return v;
}
