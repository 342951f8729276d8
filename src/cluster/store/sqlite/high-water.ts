/**
 * The SQLite datastore's high-water record: the highest revision acknowledged to a client,
 * kept outside the database. A damaged WAL frame makes SQLite drop that frame and every later
 * one without a word (its checksums chain), so the database alone cannot tell that
 * acknowledged writes are gone; comparing its last revision with this record can.
 *
 * The file holds two slots, 4 KiB apart, each a magic, the revision and a CRC. Writes
 * alternate between them in place (pwrite + fdatasync on a file that never changes size, so
 * no metadata has to reach the disk: about half the cost of write-temp-and-rename, which
 * needs the file's and the folder's metadata synced on every batch). A torn write can spoil
 * only the slot being written; the other still holds the previous revision, which is lower,
 * so a crash at any moment can make the check weaker by one batch but never make it refuse
 * a database that has every acknowledged write. The file itself is made atomically.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { writeFileAtomicSync } from '../../../core/atomic-file.js';
import { BerthError } from '../../../core/errors.js';

const MAGIC = 0x4d574842; // "BHWM", little-endian
const SLOT = 4096;
const RECORD = 16;

/** A slot: magic, revision (two 32-bit halves), CRC-32 of those 16 bytes. */
function record(revision: number): Buffer {
  const b = Buffer.alloc(RECORD + 4);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt32LE(revision % 2 ** 32, 8);
  b.writeUInt32LE(Math.floor(revision / 2 ** 32), 12);
  b.writeUInt32LE(crc32(b.subarray(0, RECORD)), RECORD);
  return b;
}

function parse(b: Buffer): number | undefined {
  if (b.length < RECORD + 4 || b.readUInt32LE(0) !== MAGIC) return undefined;
  if (crc32(b.subarray(0, RECORD)) !== b.readUInt32LE(RECORD)) return undefined;
  return b.readUInt32LE(8) + b.readUInt32LE(12) * 2 ** 32;
}

/** The recorded revision; 0 when there is no record yet (a new store, or one made before it). */
export function readHighWater(path: string): number {
  if (!existsSync(path)) return 0;
  const buf = readFileSync(path);
  const slots = [parse(buf.subarray(0, SLOT)), parse(buf.subarray(SLOT, 2 * SLOT))];
  const valid = slots.filter((s): s is number => s !== undefined);
  if (valid.length === 0)
    throw new BerthError(
      'FailedPrecondition',
      `The datastore's acknowledged-revision record ${path} is damaged: restore the data dir from a backup, or delete ${path} to start without the check that acknowledged writes are all there`,
    );
  return Math.max(...valid);
}

/** Records revisions as they are acknowledged; `record` returns once the revision is on disk. */
export interface HighWater {
  record(revision: number): void;
  close(): void;
}

/** Opens the record for writing, making it (atomically, mode 0600) holding `initial` if absent. */
export function openHighWater(path: string, initial: number): HighWater {
  if (!existsSync(path)) {
    const data = Buffer.alloc(2 * SLOT);
    record(initial).copy(data, 0);
    record(initial).copy(data, SLOT);
    writeFileAtomicSync(path, data, { mode: 0o600 });
  }
  const fd = openSync(path, 'r+', 0o600);
  let next = 0;
  return {
    record(revision) {
      writeSync(fd, record(revision), 0, RECORD + 4, next * SLOT);
      fdatasyncSync(fd);
      next ^= 1;
    },
    close() {
      closeSync(fd);
    },
  };
}
