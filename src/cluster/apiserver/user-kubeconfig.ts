/**
 * `berth kubeconfig --user NAME --group G...`: a kubeconfig for a new user, with a client
 * certificate the cluster CA signs on the spot. The user can do nothing beyond discovery and
 * self-review until an RBAC binding names the user or one of the groups.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { invalidArgument } from '../../core/errors.js';
import { userKubeconfigYaml } from './kubeconfig.js';
import { issueClientCertificate } from './tls.js';

/** Names a certificate subject carries as they are: printable, none of its separators. */
const nameProblem = (s: string) =>
  s.length === 0 || s.length > 256 || /[\x00-\x1f,=+<>#;\\"]/.test(s)
    ? 'must be 1 to 256 printable characters without , = + < > # ; \\ or "'
    : undefined;

/** The kubeconfig for `user` in `groups`, pointing at the server of the `admin` kubeconfig. */
export function userKubeconfigForDataDir(
  dataDir: string,
  admin: string,
  user: string,
  groups: string[],
): string {
  const bad = nameProblem(user);
  if (bad) throw invalidArgument(`Invalid --user "${user}": a user name ${bad}`);
  for (const g of groups) {
    const why = nameProblem(g);
    if (why) throw invalidArgument(`Invalid --group "${g}": a group name ${why}`);
  }
  const cfg = parse(admin) as { clusters?: { cluster?: { server?: string } }[] };
  const server = cfg.clusters?.[0]?.cluster?.server;
  if (!server) throw invalidArgument(`The admin kubeconfig in ${dataDir} names no server`);
  const tls = join(dataDir, 'tls');
  const { cert, key } = issueClientCertificate(tls, user, groups);
  return userKubeconfigYaml(server, readFileSync(join(tls, 'ca.crt'), 'utf8'), { name: user, cert, key });
}
