/**
 * `run`: create, start and (unless detached) attach until the container exits, as one engine
 * call. A failed start removes what `create` made, so a failed `run` leaves nothing behind.
 */
import { isNotFound } from '../../core/errors.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { attachContainer, resize } from './attach.js';
import type { EngineContext } from './context.js';
import { type CreateOptions, createContainer } from './create.js';
import { removeContainer } from './lifecycle.js';
import { defaultExitCommand, startContainer } from './start.js';

/**
 * `run --rm` in the foreground removes the container itself once it exits, so conmon's exit
 * command (a second Node process, competing for the CPU and the container's lock just then)
 * only has work when this process is gone (killed): a shell checks that first.
 */
function unlessAlive(pid: number, command: string[]): string[] {
  return [
    '/bin/sh',
    '-c',
    'p=$1; shift; kill -0 "$p" 2>/dev/null && exit 0; exec "$@"',
    'sh',
    String(pid),
    ...command,
  ];
}

/** How `run` connects to the container. */
export interface RunIo {
  detach: boolean;
  /** `-i`: forward stdin. */
  interactive: boolean;
}

/** The container's ID, and its exit status unless detached. */
export interface RunResult {
  id: string;
  exitCode?: number;
}

async function removeQuietly(ctx: EngineContext, id: string): Promise<void> {
  try {
    await removeContainer(ctx, id, { force: true, volumes: true });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** Runs a container from `image`. */
export async function runContainer(
  ctx: EngineContext,
  image: ResolvedImage,
  opts: CreateOptions,
  io: RunIo,
): Promise<RunResult> {
  let rec = createContainer(ctx, image, opts);
  try {
    // The first terminal size must be there before the process starts, not after.
    const sizeTerminal = rec.config.tty && !io.detach && process.stdout.isTTY;
    rec = await startContainer(ctx, rec, {
      ...(sizeTerminal ? { beforeStart: (p: { bundle: string }) => resize(p.bundle) } : {}),
      ...(rec.config.autoRemove && !io.detach
        ? { exitCommand: unlessAlive(process.pid, defaultExitCommand(ctx, rec.id)) }
        : {}),
    });
  } catch (e) {
    await removeQuietly(ctx, rec.id);
    throw e;
  }
  if (io.detach) return { id: rec.id };
  const code = await attachContainer(ctx, rec, { stdin: io.interactive, fromStart: true });
  if (rec.config.autoRemove) await removeQuietly(ctx, rec.id);
  return { id: rec.id, exitCode: code ?? 255 };
}
