/**
 * The server's data dir holds the cluster CA key, the admin and node tokens, the admin
 * kubeconfig and the datastore (every Secret): only root may read any of it. New files are
 * made 0600 where they are written; this makes the folder tree 0700 and every file 0600 on
 * each start, so a data dir made by an older version, restored from a backup, or loosened by
 * hand is closed again before the server reads or writes it. Only what the server writes is
 * walked (a data dir given as a shared folder keeps its other contents' modes): add new
 * entries to `serverEntries`.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** What the server keeps in its data dir: credentials, encryption keys, the datastore, kubeconfig, socket, the join token, the embedded agent's credentials. */
const serverEntries = ['tls', 'cred', 'db', 'kubeconfig.yaml', 'api.sock', 'node-token', 'agent'];

export function restrictDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const name of serverEntries) if (existsSync(join(dir, name))) restrict(join(dir, name));
}

function restrict(path: string): void {
  const st = lstatSync(path);
  // A symbolic link's own mode means nothing, and what it points to is not ours to change.
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== 0o700) chmodSync(path, 0o700);
    for (const name of readdirSync(path)) restrict(join(path, name));
  } else if ((st.mode & 0o777) !== 0o600) chmodSync(path, 0o600);
}
