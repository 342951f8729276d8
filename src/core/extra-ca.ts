/**
 * NODE_EXTRA_CA_CERTS for Berth's own TLS clients that trust Node's default CAs.
 *
 * Node 20 reads and parses that file when it starts, before any script runs: a system bundle
 * of about 140 certificates took 30-40 ms, which every `berth` command paid although few make
 * a TLS connection. bin/berth therefore starts Node without it and puts it back in the
 * environment for the processes Berth starts; a client that wants Node's default CAs asks
 * here instead, and gets Node's own list plus the file's, which is what Node would have used.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { logger } from './log.js';

const log = logger('tls');

/**
 * The CAs a TLS client should trust when it has none of its own: undefined (Node's defaults)
 * without NODE_EXTRA_CA_CERTS, otherwise Node's bundled CAs and the file's. A file that cannot
 * be read is reported and left out, as Node does.
 */
export function defaultCas(env: NodeJS.ProcessEnv = process.env): (string | Buffer)[] | undefined {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  try {
    return [...rootCertificates, readFileSync(file)];
  } catch (e) {
    log.warn('Ignoring the extra CA certificates of NODE_EXTRA_CA_CERTS: cannot read the file', {
      file,
      err: e as Error,
    });
    return undefined;
  }
}
