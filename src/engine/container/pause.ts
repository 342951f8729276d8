/**
 * `pause` and `unpause`: the runtime freezes or thaws every process of the container (its
 * freezer cgroup); the record says `paused` meanwhile. Docker's rules and messages: only a
 * running container can be paused, only a paused one unpaused; stop, kill and rm -f thaw
 * a paused container first. Messages name the full ID, as dockerd's do (a frozen process would not die of SIGTERM until thawed).
 */
import { conflict } from '../../core/errors.js';
import { detectRuntime, runtimeFreeze } from '../runtime/oci-runtime.js';
import type { EngineContext } from './context.js';
import { containerEvent } from './events.js';
import type { ContainerRecord } from './store.js';

/** Freezes a running container. */
export async function pauseContainer(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  if (rec.state === 'paused') throw conflict(`Container ${rec.id} is already paused`);
  if (rec.state !== 'running') throw conflict(`Container ${rec.id} is not running`);
  await runtimeFreeze(detectRuntime(ctx.runroot, rec.config.runtime), rec.id, true);
  const r = ctx.containers.update(rec.id, { state: 'paused' }, ['running']);
  if (r) containerEvent(ctx, r, 'pause');
}

/** Thaws a paused container. */
export async function unpauseContainer(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  if (rec.state !== 'paused') throw conflict(`Container ${rec.id} is not paused`);
  await thaw(ctx, rec);
}

/** Thaws `rec` if it is paused (before stop, kill or removal); returns the record as it now is. */
export async function thawIfPaused(ctx: EngineContext, rec: ContainerRecord): Promise<ContainerRecord> {
  return rec.state === 'paused' ? thaw(ctx, rec) : rec;
}

async function thaw(ctx: EngineContext, rec: ContainerRecord): Promise<ContainerRecord> {
  await runtimeFreeze(detectRuntime(ctx.runroot, rec.config.runtime), rec.id, false);
  const r = ctx.containers.update(rec.id, { state: 'running' }, ['paused']);
  if (r) containerEvent(ctx, r, 'unpause');
  return r ?? ctx.containers.get(rec.id);
}
