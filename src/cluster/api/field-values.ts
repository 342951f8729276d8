/**
 * Readers for the loosely typed JSON a client sent: validators and defaulters walk objects
 * whose fields may be missing or of the wrong type, and read a wrong type as absent so the
 * field's own check reports it (instead of a TypeError from deep inside a validator).
 */

/** A JSON object as decoded, before any field is known to be there. */
export type Obj = Record<string, unknown>;

/** Whether `v` is a JSON object (not null, not an array). */
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `v` when it is a JSON object, else a fresh empty one (never written back). */
export const obj = (v: unknown): Obj => (isObj(v) ? v : {});

/** `v` when it is an array, else an empty one; its items are read as objects. */
export const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

/** `v` when it is an array, else an empty one; its items are read as strings. */
export const strings = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/** `v` when it is a string, else the empty string. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
