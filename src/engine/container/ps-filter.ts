/**
 * `ps --filter KEY=VALUE` with Docker's keys: id (prefix), name (substring), status (state),
 * label (`KEY` or `KEY=VALUE`), ancestor (image name or ID prefix), exited (exit code),
 * network (name), volume (volume name or mount point), health (starting, healthy, unhealthy,
 * none), before and since (containers created before or after the one named).
 * Several values of one key match any of them, except labels, which must all match (as in
 * Docker: Compose asks for its project's and a service's labels together); different keys
 * must all match.
 */
import { invalidArgument } from '../../core/errors.js';
import { labelMatches } from '../label-filter.js';
import type { ContainerRecord } from './store.js';

const keys = [
  'id',
  'name',
  'status',
  'label',
  'ancestor',
  'exited',
  'network',
  'volume',
  'health',
  'before',
  'since',
] as const;
type Key = (typeof keys)[number];

const states = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const healthValues = ['starting', 'healthy', 'unhealthy', 'none'];

/** What some keys need beyond the record: its health, and other containers (before, since). */
export interface PsFilterContext {
  /** The health status (`starting`, `healthy`, `unhealthy`), or `none` without a check. */
  health?: (rec: ContainerRecord) => string;
  /** A container by name or ID (undefined when there is none). */
  find?: (ref: string) => ContainerRecord | undefined;
}

function matchOne(rec: ContainerRecord, key: Key, value: string, ctx: PsFilterContext): boolean {
  switch (key) {
    case 'id':
      return rec.id.startsWith(value);
    case 'name':
      return rec.name.includes(value.replace(/^\//, ''));
    case 'status':
      return rec.state === value;
    case 'label':
      return labelMatches(rec.config.labels, value);
    case 'ancestor':
      return (
        rec.config.imageName === value ||
        rec.config.imageRef === value ||
        rec.config.imageName.startsWith(`${value}:`) ||
        rec.config.imageName.endsWith(`/${value}`) ||
        rec.config.imageName.includes(`/${value}:`) ||
        rec.config.imageId.replace(/^sha256:/, '').startsWith(value.replace(/^sha256:/, ''))
      );
    case 'exited':
      return rec.state === 'exited' && rec.exitCode === Number(value);
    case 'network':
      return rec.config.network === value || (rec.config.extraNetworks ?? []).some((n) => n.name === value);
    case 'volume':
      return rec.config.mounts.some(
        (m) => m.destination === value || (m.type === 'volume' && m.source === value),
      );
    case 'health':
      return (ctx.health?.(rec) ?? 'none') === value;
    case 'before':
    case 'since': {
      const other = ctx.find?.(value);
      if (!other) return false;
      return key === 'before' ? rec.createdAt < other.createdAt : rec.createdAt > other.createdAt;
    }
  }
}

/** Refuses what Docker's daemon refuses, with its words: an unknown key or a bad value. */
function checkFilter(f: string, key: string, value: string, ctx: PsFilterContext): void {
  if (!keys.includes(key as Key)) throw invalidArgument(`Invalid filter '${key}'`);
  if (key === 'status' && !states.includes(value)) throw invalidArgument(`Invalid filter '${f}'`);
  if (key === 'health' && !healthValues.includes(value))
    throw invalidArgument(`Unrecognised filter value for health: ${value}`);
  if (key === 'exited' && !/^-?\d+$/.test(value)) throw invalidArgument(`Invalid filter '${f}'`);
  if ((key === 'before' || key === 'since') && ctx.find && !ctx.find(value))
    throw invalidArgument(`No such container: ${value}`);
}

/** A predicate for the given `--filter` values; refuses unknown keys and bad values. */
export function psFilter(
  filters: readonly string[],
  ctx: PsFilterContext = {},
): (rec: ContainerRecord) => boolean {
  const byKey = new Map<Key, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = i < 0 ? f : f.slice(0, i);
    checkFilter(f, key, f.slice(i + 1), ctx);
    if (i < 0) throw invalidArgument(`Invalid filter '${f}': use KEY=VALUE`);
    byKey.set(key as Key, [...(byKey.get(key as Key) ?? []), f.slice(i + 1)]);
  }
  return (rec) =>
    [...byKey].every(([k, values]) =>
      k === 'label'
        ? values.every((v) => matchOne(rec, k, v, ctx))
        : values.some((v) => matchOne(rec, k, v, ctx)),
    );
}
