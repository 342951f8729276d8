/**
 * `ps --filter KEY=VALUE` with Docker's keys: id (prefix), name (substring), status (state),
 * label (`KEY` or `KEY=VALUE`), ancestor (image name or ID prefix), exited (exit code).
 * Several values of one key match any of them, except labels, which must all match (as in
 * Docker: Compose asks for its project's and a service's labels together); different keys
 * must all match.
 */
import { invalidArgument } from '../../core/errors.js';
import type { ContainerRecord } from './store.js';

const keys = ['id', 'name', 'status', 'label', 'ancestor', 'exited'] as const;
type Key = (typeof keys)[number];

function matchOne(rec: ContainerRecord, key: Key, value: string): boolean {
  switch (key) {
    case 'id':
      return rec.id.startsWith(value);
    case 'name':
      return rec.name.includes(value.replace(/^\//, ''));
    case 'status':
      return rec.state === value;
    case 'label': {
      const i = value.indexOf('=');
      const k = i < 0 ? value : value.slice(0, i);
      if (!(k in rec.config.labels)) return false;
      return i < 0 || rec.config.labels[k] === value.slice(i + 1);
    }
    case 'ancestor':
      return (
        rec.config.imageName === value ||
        rec.config.imageName.startsWith(`${value}:`) ||
        rec.config.imageName.endsWith(`/${value}`) ||
        rec.config.imageName.includes(`/${value}:`) ||
        rec.config.imageId.replace(/^sha256:/, '').startsWith(value.replace(/^sha256:/, ''))
      );
    case 'exited':
      return rec.state === 'exited' && rec.exitCode === Number(value);
  }
}

/** A predicate for the given `--filter` values; refuses unknown keys. */
export function psFilter(filters: readonly string[]): (rec: ContainerRecord) => boolean {
  const byKey = new Map<Key, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = (i < 0 ? f : f.slice(0, i)) as Key;
    if (i < 0 || !keys.includes(key))
      throw invalidArgument(`Invalid filter "${f}": use KEY=VALUE with KEY one of ${keys.join(', ')}`);
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(i + 1)]);
  }
  return (rec) =>
    [...byKey].every(([k, values]) =>
      k === 'label' ? values.every((v) => matchOne(rec, k, v)) : values.some((v) => matchOne(rec, k, v)),
    );
}
