/**
 * GET of a URL for `ADD URL`: the response once redirects are followed, with Node's default
 * CAs and those of NODE_EXTRA_CA_CERTS (src/core/extra-ca.ts), which `fetch` could not be
 * given in this process.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { invalidArgument } from '../../core/errors.js';
import { defaultCas } from '../../core/extra-ca.js';

/** As many redirects as `fetch` follows. */
const MAX_REDIRECTS = 20;

function get(url: URL, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const ca = url.protocol === 'https:' ? defaultCas() : undefined;
    const req = (url.protocol === 'https:' ? https : http).get(
      url,
      { ...(ca ? { ca } : {}), ...(signal ? { signal } : {}) },
      resolve,
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.name === 'AbortError' ? e : invalidArgument(`ADD failed: cannot fetch ${url}: ${e.message}`, e),
      ),
    );
  });
}

/** The final response (status 2xx or not); its body is the caller's to read. */
export async function fetchUrl(url: string, signal?: AbortSignal): Promise<IncomingMessage> {
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw invalidArgument(`ADD failed: ${target} is not an http or https URL`);
    const res = await get(target, signal);
    const loc = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || !loc || hop >= MAX_REDIRECTS) return res;
    res.resume();
    target = new URL(loc, target);
  }
}
