import { BerthError } from '../../core/errors.js';

/** The errors every store backend raises, worded once so both backends say the same thing. */
export const storeErrors = {
  exists: (key: string) => new BerthError('AlreadyExists', `Key "${key}" already exists`),
  missing: (key: string) => new BerthError('NotFound', `Key "${key}" not found`),
  conflict: (key: string, expected: number, actual: number) =>
    new BerthError('Conflict', `Key "${key}" was modified: expected revision ${expected}, found ${actual}`),
  compacted: (revision: number, compacted: number) =>
    new BerthError('Gone', `Revision ${revision} is too old: history up to ${compacted} was compacted`),
  future: (revision: number, current: number) =>
    new BerthError(
      'InvalidArgument',
      `Revision ${revision} is in the future: the current revision is ${current}`,
    ),
};

/** The exclusive upper bound of keys that start with `prefix` (for range scans). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\u{10FFFF}';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
