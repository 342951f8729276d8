import { invalidArgument } from '../../core/errors.js';

/**
 * A parsed image reference, normalised the way Docker does it: `busybox` is
 * `docker.io/library/busybox:latest`; a first component with a dot or a colon, or
 * `localhost`, is a registry host; a digest pins the content.
 */
export interface Reference {
  /** Registry host (with port), e.g. `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path below the host, e.g. `library/busybox`. */
  path: string;
  /** Tag, when given or defaulted (no default when a digest is given). */
  tag?: string;
  /** `sha256:<hex>`, when given. */
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;

function bad(ref: string, why: string): Error {
  return invalidArgument(`Invalid reference format "${ref}": ${why}`);
}

/** Parses and normalises a reference; throws InvalidArgument naming the reference. */
export function parseReference(ref: string): Reference {
  if (ref.length === 0) throw bad(ref, 'it is empty');
  if (ref.length > 255) throw bad(ref, 'it is longer than 255 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(ref, `"${digest}" is not a valid digest`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw bad(ref, `"${digest}" is not a valid sha256 digest`);
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(ref, `"${tag}" is not a valid tag`);
  }
  if (rest.length === 0) throw bad(ref, 'the repository name is empty');
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(firstSlash + 1);
      if (!DOMAIN.test(domain)) throw bad(ref, `"${domain}" is not a valid registry host`);
    }
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) throw bad(ref, 'repository name must be lowercase');
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) throw bad(ref, `"${c}" is not a valid repository name component`);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

/** `domain/path` without tag or digest. */
export function repositoryOf(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The full normalised form: `domain/path:tag`, `domain/path@digest`, or both. */
export function formatReference(r: Reference): string {
  return `${repositoryOf(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The short form Docker prints: `busybox:latest` for official images, the full name otherwise. */
export function familiarName(full: string): string {
  const prefix = `${DEFAULT_DOMAIN}/library/`;
  if (full.startsWith(prefix)) return full.slice(prefix.length);
  if (full.startsWith(`${DEFAULT_DOMAIN}/`)) return full.slice(DEFAULT_DOMAIN.length + 1);
  return full;
}

/** Normalises a reference string to its full form (`busybox` -> `docker.io/library/busybox:latest`). */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}
