/**
 * Starting a container that runc holds created, without running `runc start`. runc's `create`
 * leaves the container's init process blocked on a FIFO in its state folder (`exec.fifo`):
 * the init opens it for writing, writes one byte and only then executes the container's
 * command. `runc start` does no more than open the FIFO for reading, read that byte and remove
 * the FIFO (runc then reports the container running, as its status is "created" while the FIFO
 * exists). Doing that here spares a Go program's start (about 5 ms of CPU) on every container
 * start, which in bench/pods is one program of the ~13 a pod costs.
 *
 * The FIFO is opened for reading and writing, so the open never blocks and the read never ends
 * early: the init's open for writing goes through as soon as there is a reader, and the byte
 * comes when it has written it. An init that died before writing never sends it, so its pid is
 * watched meanwhile, as `runc start` does (every 100 ms).
 */
import { closeSync, constants, existsSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { pidAlive } from '../container/exit-watch.js';

/** The FIFO runc keeps in a created container's state folder until it is started. */
export function execFifoOf(stateRoot: string, id: string): string {
  return join(stateRoot, id, 'exec.fifo');
}

/**
 * Lets a created runc container run its command: reads the init's byte from `fifo` and removes
 * the FIFO. Returns false when there is no FIFO (the container is not in the created state:
 * the caller lets `runc start` say why); throws when the init process `pid` died first.
 */
export async function releaseExecFifo(fifo: string, pid: number): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const pipe = new Socket({ fd, readable: true, writable: false });
  let watch: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      pipe.once('data', () => resolve());
      pipe.once('error', reject);
      watch = setInterval(() => {
        // A byte written just before the end is read first: 'data' wins the race.
        if (!pidAlive(pid))
          setImmediate(() =>
            reject(new BerthError('Internal', `The container's process ${pid} ended before it was started`)),
          );
      }, 100);
    });
  } finally {
    clearInterval(watch);
    pipe.destroy();
  }
  if (existsSync(fifo)) unlinkSync(fifo);
  return true;
}

/**
 * Lets a container crun holds created run its command, as `crun start` does without hooks or
 * a notify socket (Berth gives it neither): crun's direction is the other way round from
 * runc's, the init waits to read one byte, so the FIFO is opened for writing, removed, and a
 * zero byte written. Returns false when there is no FIFO, or no reader on it (the init died):
 * the caller lets `crun start` say why. Saves a program start per container start.
 */
export function releaseCrunExecFifo(fifo: string): boolean {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') return false;
    throw e;
  }
  try {
    unlinkSync(fifo);
    writeSync(fd, Buffer.alloc(1));
  } finally {
    closeSync(fd);
  }
  return true;
}
