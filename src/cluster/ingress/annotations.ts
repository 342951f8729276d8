/**
 * The Ingress annotations the built-in controller honours, in its own names
 * (`ingress.berth.dev/...`) and in ingress-nginx's (`nginx.ingress.kubernetes.io/...`), which
 * many manifests already carry. Berth's name wins where both are given. A value that does not
 * parse is reported (an event on the Ingress) and the default is used.
 */

const BERTH = 'ingress.berth.dev/';
const NGINX = 'nginx.ingress.kubernetes.io/';

/** When plain HTTP is answered with a redirect to HTTPS. */
export type SslRedirect = 'never' | 'if-tls' | 'always';

export interface RouteOptions {
  sslRedirect: SslRedirect;
  /** The largest request body in bytes; undefined for no limit. */
  bodyLimit?: number;
  /** How long the backend may stay silent while a request is answered (nginx's proxy_read_timeout). */
  readTimeoutMs: number;
  /** How long connecting to one endpoint may take before another is tried. */
  connectTimeoutMs: number;
}

export const defaultRouteOptions: RouteOptions = {
  sslRedirect: 'never',
  readTimeoutMs: 60_000,
  connectTimeoutMs: 5_000,
};

const units: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx's size syntax: `8m`, `512k`, `1g`, bytes without a unit; `0` means no limit. */
export function parseSize(v: string): number | undefined {
  const m = /^\s*(\d+)\s*([kmg]?)\s*$/i.exec(v);
  if (!m) throw new Error(`"${v}" is not a size (a number with an optional k, m or g)`);
  const n = Number(m[1]) * (units[(m[2] ?? '').toLowerCase()] ?? 1);
  return n === 0 ? undefined : n;
}

/** Whole seconds, as ingress-nginx's timeouts take them (`60`, or `60s`). */
export function parseSeconds(v: string): number {
  const m = /^\s*(\d+)\s*s?\s*$/.exec(v);
  if (!m || Number(m[1]) === 0) throw new Error(`"${v}" is not a number of seconds above 0`);
  return Number(m[1]) * 1000;
}

function parseBool(v: string): boolean {
  const s = v.trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new Error(`"${v}" is not true or false`);
}

/**
 * The options an Ingress's annotations ask for, and a sentence for each that could not be
 * read (the default applies to it).
 */
export function routeOptions(annotations: Record<string, string> | undefined): {
  options: RouteOptions;
  problems: string[];
} {
  const a = annotations ?? {};
  const options: RouteOptions = { ...defaultRouteOptions };
  const problems: string[] = [];
  /** The first of `names` present, read with `parse`; a bad value is a problem. */
  const read = <T>(names: string[], parse: (v: string) => T, use: (v: T) => void) => {
    const name = names.find((n) => a[n] !== undefined);
    if (!name) return;
    try {
      use(parse(a[name] as string));
    } catch (e) {
      problems.push(`Annotation ${name}: ${(e as Error).message}; the default applies`);
    }
  };
  // Berth's own redirect annotation, then nginx's force-ssl-redirect (also without TLS),
  // then nginx's ssl-redirect (only for hosts that have TLS).
  let redirect: SslRedirect | undefined;
  read([`${BERTH}ssl-redirect`], parseBool, (v) => {
    redirect = v ? 'always' : 'never';
  });
  if (!redirect)
    read([`${NGINX}force-ssl-redirect`], parseBool, (v) => {
      if (v) redirect = 'always';
    });
  if (!redirect)
    read([`${NGINX}ssl-redirect`], parseBool, (v) => {
      redirect = v ? 'if-tls' : 'never';
    });
  if (redirect) options.sslRedirect = redirect;
  read([`${BERTH}proxy-body-size`, `${NGINX}proxy-body-size`], parseSize, (v) => {
    if (v === undefined) delete options.bodyLimit;
    else options.bodyLimit = v;
  });
  read([`${BERTH}proxy-read-timeout`, `${NGINX}proxy-read-timeout`], parseSeconds, (v) => {
    options.readTimeoutMs = v;
  });
  read([`${BERTH}proxy-connect-timeout`, `${NGINX}proxy-connect-timeout`], parseSeconds, (v) => {
    options.connectTimeoutMs = v;
  });
  return { options, problems };
}
