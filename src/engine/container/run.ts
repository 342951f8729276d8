/**
 * `run`: create, start and (unless detached) attach until the container exits, as one engine
 * call. A failed start removes what `create` made, so a failed `run` leaves nothing behind.
 */
import { unlessNotFound } from '../../core/errors.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { attachContainer, resize } from './attach.js';
import type { EngineContext } from './context.js';
import { type CreateOptions, createContainer } from './create.js';
import { removeContainer } from './lifecycle.js';
import { containerPaths } from './paths.js';
import { defaultExitCommand, startContainer } from './start.js';
import type { ContainerRecord } from './store.js';
import type { ContainerStreams } from './streams.js';

/**
 * `run --rm` in the foreground removes the container itself once it exits, so conmon's exit
 * command (a second Node process, competing for the CPU and the container's lock just then)
 * only has work when that `berth run` did not finish: it died (killed, or its output pipe
 * closed as in `berth run ... | head -1`) before or during the removal. A shell waits for the
 * `berth run` process to be gone (or a zombie), then starts the exit command only if the
 * container's exit file is still there: removal deletes it last. The wait polls because
 * nothing in a shell can block on a process that is not its child; it lasts as long as the
 * removal.
 */
function unlessRemovedBy(pid: number, exitFile: string, command: string[]): string[] {
  const script = [
    'p=$1 f=$2; shift 2',
    'while read -r s 2>/dev/null < "/proc/$p/stat"; do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion (the state after the name)
    '  case ${s##*) } in Z*|X*) break ;; esac',
    '  sleep 0.05',
    'done',
    '[ -e "$f" ] || exit 0',
    'exec "$@"',
  ].join('\n');
  return ['/bin/sh', '-c', script, 'sh', String(pid), exitFile, ...command];
}

/** How `run` connects to the container (streams are ignored with `detach`). */
export interface RunIo extends ContainerStreams {
  detach: boolean;
  /** Called once the container runs (a front end starts forwarding signals to it here). */
  onStarted?: (rec: ContainerRecord) => void;
  /** Stops attaching (the container keeps running; `exitCode` is then undefined). */
  signal?: AbortSignal;
}

/** The container's ID, and its exit status unless detached. */
export interface RunResult {
  id: string;
  exitCode?: number;
}

async function removeQuietly(ctx: EngineContext, id: string): Promise<void> {
  await unlessNotFound(removeContainer(ctx, id, { force: true, volumes: true }));
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
    const sizeTerminal = rec.config.tty && !io.detach && io.initialSize;
    rec = await startContainer(ctx, rec, {
      ...(sizeTerminal
        ? {
            consoleSize: io.initialSize,
            beforeStart: (p: { bundle: string }) => resize(p.bundle, io.initialSize),
          }
        : {}),
      ...(rec.config.autoRemove && !io.detach
        ? {
            exitCommand: unlessRemovedBy(
              process.pid,
              containerPaths(ctx, rec.id).exitFile,
              defaultExitCommand(ctx, rec.id),
            ),
          }
        : {}),
    });
  } catch (e) {
    await removeQuietly(ctx, rec.id);
    throw e;
  }
  io.onStarted?.(rec);
  if (io.detach) return { id: rec.id };
  const { initialSize: _sized, ...streams } = io;
  const code = await attachContainer(ctx, rec, { ...streams, fromStart: true });
  if (io.signal?.aborted) return { id: rec.id };
  if (rec.config.autoRemove) await removeQuietly(ctx, rec.id);
  return { id: rec.id, exitCode: code ?? 255 };
}
