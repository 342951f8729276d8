import type { Readable } from 'node:stream';
import { BerthError } from '../../core/errors.js';
import type { Credentials } from './auth-file.js';
import { parseChallenge } from './challenge.js';
import { discard, type HttpResponse, httpRequest, readBody } from './http.js';

export interface RegistryOptions {
  /** Plain HTTP and no certificate checks. Default: true for loopback hosts, as Docker does. */
  insecure?: boolean;
  credentials?: Credentials;
  /** Aborts every request of this client (a cancelled pull or push). */
  signal?: AbortSignal;
}

/** Whether a registry host is on this machine (Docker treats those as insecure by default). */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * A client for one registry host speaking the OCI distribution protocol. It answers a 401
 * the way the challenge asks: Basic with stored credentials, or Bearer by fetching a token
 * for the request's scope from the challenge's realm (Docker Hub's scheme), cached per scope
 * until it expires.
 */
export class RegistryClient {
  readonly host: string;
  private readonly base: string;
  private readonly creds?: Credentials;
  private readonly tokens = new Map<string, { header: string; expires: number }>();
  private basic = false;
  private readonly signal?: AbortSignal;

  constructor(host: string, options: RegistryOptions = {}) {
    this.host = host;
    const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
    const insecure = options.insecure ?? isLoopbackRegistry(host);
    this.base = `${insecure ? 'http' : 'https'}://${apiHost}`;
    this.creds = options.credentials;
    this.signal = options.signal;
  }

  private authHeader(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t && t.expires > Date.now()) return t.header;
    if (this.basic && this.creds) return basicHeader(this.creds);
    return undefined;
  }

  /**
   * Sends a request to `path` (below the host), authenticating for `scope`
   * (`repository:NAME:pull` or `:pull,push`). A body that is a stream cannot be re-sent, so
   * callers send one only after a bodiless request on the same scope has authenticated.
   */
  async request(
    method: string,
    path: string,
    options: { scope: string; headers?: Record<string, string>; body?: Buffer | Readable } = { scope: '' },
  ): Promise<HttpResponse> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const send = () => {
      const auth = this.authHeader(options.scope);
      return httpRequest(url, {
        method,
        headers: { ...(options.headers ?? {}), ...(auth ? { Authorization: auth } : {}) },
        body: options.body,
        signal: this.signal,
      });
    };
    let res = await send();
    if (res.status !== 401 || (options.body && !Buffer.isBuffer(options.body))) return res;
    const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
    discard(res);
    if (!challenge) throw this.unauthorized('the registry asked for authentication without saying how');
    if (challenge.scheme === 'basic') {
      if (!this.creds) throw this.unauthorized('authentication required; run "berth login"');
      this.basic = true;
    } else if (challenge.scheme === 'bearer') {
      await this.fetchToken(challenge.params, options.scope);
    } else {
      throw this.unauthorized(`unsupported authentication scheme "${challenge.scheme}"`);
    }
    res = await send();
    if (res.status === 401) {
      discard(res);
      throw this.unauthorized(
        this.creds ? 'wrong user name or password' : 'authentication required; run "berth login"',
      );
    }
    return res;
  }

  private unauthorized(why: string): BerthError {
    return new BerthError('Unauthenticated', `Registry ${this.host}: ${why}`);
  }

  private async fetchToken(params: Record<string, string>, scope: string): Promise<void> {
    if (!params.realm) throw this.unauthorized('the Bearer challenge has no realm');
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    for (const s of (scope || params.scope || '').split(' ').filter(Boolean))
      u.searchParams.append('scope', s);
    const res = await httpRequest(u.toString(), {
      headers: this.creds ? { Authorization: basicHeader(this.creds) } : {},
      signal: this.signal,
    });
    const body = await readBody(res, 1024 * 1024);
    if (res.status === 401 || res.status === 403)
      throw this.unauthorized(this.creds ? 'wrong user name or password' : 'access denied');
    if (res.status !== 200) throw this.unauthorized(`the token service answered ${res.status}`);
    let tok: { token?: string; access_token?: string; expires_in?: number };
    try {
      tok = JSON.parse(body.toString('utf8'));
    } catch {
      throw this.unauthorized('the token service answered with something other than JSON');
    }
    const token = tok.token ?? tok.access_token;
    if (!token) throw this.unauthorized('the token service answered without a token');
    const ttl = Math.max(60, tok.expires_in ?? 60) * 1000;
    this.tokens.set(scope, { header: `Bearer ${token}`, expires: Date.now() + ttl - 5000 });
  }

  /** An absolute URL for a path or a Location header the registry gave (which may be relative). */
  url(location: string): string {
    return /^https?:\/\//.test(location)
      ? location
      : `${this.base}${location.startsWith('/') ? '' : '/'}${location}`;
  }

  /** Checks that the registry answers and the credentials (if any) are accepted (for `login`). */
  async ping(): Promise<void> {
    const res = await this.request('GET', '/v2/', { scope: '' });
    discard(res);
    if (res.status !== 200)
      throw new BerthError('Unavailable', `Registry ${this.host} answered ${res.status} to /v2/`);
  }
}

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
