/**
 * Starting one of a container's own monitor processes (`berth internal NAME ID`: health
 * checks, log rotation). Berth has no daemon, so what must happen while a container runs is
 * done by a small detached process started with it, which ends by itself when the
 * container's exit file appears.
 */
import { spawn } from 'node:child_process';
import { logger } from '../../core/log.js';
import type { EngineContext } from './context.js';

const log = logger('monitor');

/** Starts `berth internal <name> <id>` detached, so it outlives this process. */
export function startMonitorProcess(ctx: EngineContext, name: string, id: string): void {
  const [file, ...args] = [...ctx.self, '--root', ctx.root, '--runroot', ctx.runroot, 'internal', name, id];
  const child = spawn(file!, args, { stdio: 'ignore', detached: true });
  child.on('error', (e) => log.warn(`${name} monitor did not start`, { id, err: e }));
  child.unref();
}
