/**
 * Docker's detach keys on a TTY attach: the client's input passes through to the container
 * until it holds the key sequence (Ctrl-P Ctrl-Q unless `detachKeys` names another), which
 * detaches the client and leaves the container running. The docker CLI watches for the keys
 * itself; this serves API clients that send them, as dockerd does.
 */
import { Transform } from 'node:stream';
import { invalidArgument } from '../../core/errors.js';

/** dockerd's default sequence: Ctrl-P, Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = [0x10, 0x11];

/** `ctrl-p,ctrl-q` or `a,ctrl-@` as bytes; empty or absent is the default. */
export function parseDetachKeys(spec: string | null | undefined): number[] {
  if (!spec) return DEFAULT_DETACH_KEYS;
  return spec.split(',').map((part) => {
    const key = part.trim();
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!.toLowerCase();
      if (/[a-z]/.test(c)) return c.charCodeAt(0) - 0x60;
      const specials: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (c in specials) return specials[c]!;
    } else if (key.length === 1) return key.charCodeAt(0);
    throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  });
}

/**
 * A stream that passes the input on, holding back bytes while they may begin `keys`; when the
 * whole sequence comes, it calls `onDetach` once and passes nothing more (the held bytes are
 * dropped, as dockerd drops them). Bytes that turn out not to be the sequence go on in order.
 */
export function escapeProxy(keys: readonly number[], onDetach: () => void): Transform {
  let held: number[] = [];
  let detached = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (detached) return done();
      const out: number[] = [];
      for (const b of chunk) {
        if (b === keys[held.length]) {
          held.push(b);
          if (held.length === keys.length) {
            detached = true;
            if (out.length) this.push(Buffer.from(out));
            onDetach();
            return done();
          }
          continue;
        }
        out.push(...held);
        held = [];
        if (b === keys[0]) held.push(b);
        else out.push(b);
      }
      done(null, out.length ? Buffer.from(out) : undefined);
    },
  });
}
