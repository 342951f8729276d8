import { invalidArgument } from '../../core/errors.js';
import type { ImageRow } from '../image/image-index.js';
import type { ImageStore } from '../image/image-store.js';
import { familiarName, normalizeReference } from '../image/reference.js';
import type { Credentials } from './auth-file.js';
import type { Progress } from './progress.js';

/** `--pull` for run and create: always pull, pull when missing (default), or never. */
export type PullPolicy = 'always' | 'missing' | 'never';

export function parsePullPolicy(s: string | undefined): PullPolicy {
  const v = s ?? 'missing';
  if (v === 'always' || v === 'missing' || v === 'never') return v;
  throw invalidArgument(`Invalid --pull value "${s}": use always, missing or never`);
}

/**
 * Makes sure an image is in the store before a container is made from it, pulling it as
 * the policy says. Image IDs are never pulled. Announces the pull on `notice` as Docker
 * does ("Unable to find image ... locally").
 */
export async function ensureImage(
  store: ImageStore,
  ref: string,
  policy: PullPolicy,
  options: {
    progress?: Progress;
    notice?: (line: string) => void;
    signal?: AbortSignal;
    credentials?: Credentials;
  } = {},
): Promise<ImageRow | undefined> {
  if (policy === 'never') return undefined;
  const present = store.index.find(ref) !== undefined;
  if (present && policy === 'missing') return undefined;
  if (/^(sha256:)?[a-f0-9]{12,64}$/.test(ref)) return undefined;
  if (!present) options.notice?.(`Unable to find image '${familiarName(normalizeReference(ref))}' locally`);
  // The registry client (http, https, tls, zlib) is loaded only for a pull: `run` of a
  // local image, the common case, does not pay for it.
  const { pullImage } = await import('./pull.js');
  return pullImage(store, ref, {
    progress: options.progress,
    signal: options.signal,
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}
