import { join } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import { openEtcdStore } from './etcd/etcd-store.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/**
 * Opens the datastore named by `--datastore-endpoint`: absent or `sqlite://[PATH]` is the
 * embedded SQLite file (default DATA_DIR/db/state.db); `etcd://h1:2379,h2:2379` (or
 * `http://`/`https://` URLs, comma-separated) is an etcd cluster. `sqlite` options apply to
 * the SQLite file only.
 */
export function openStore(
  endpoint: string | undefined,
  dataDir: string,
  sqlite: Pick<SqliteStoreOptions, 'acceptDataLoss'> = {},
): Store {
  if (!endpoint || endpoint === 'sqlite' || endpoint === 'sqlite://') {
    return openSqliteStore(join(dataDir, 'db', 'state.db'), sqlite);
  }
  if (endpoint.startsWith('sqlite://')) return openSqliteStore(endpoint.slice('sqlite://'.length), sqlite);
  if (endpoint.startsWith('etcd://') || endpoint.startsWith('http://') || endpoint.startsWith('https://')) {
    const hosts = endpoint
      .replace(/^etcd:\/\//, '')
      .split(',')
      .filter(Boolean)
      .map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`));
    for (const h of hosts) {
      try {
        const u = new URL(h);
        if (!u.hostname || !u.port) throw new Error('no port');
      } catch {
        throw invalidArgument(`Invalid datastore endpoint "${endpoint}": "${h}" is not host:port`);
      }
    }
    if (hosts.length === 0) throw invalidArgument(`Invalid datastore endpoint "${endpoint}": no etcd hosts`);
    return openEtcdStore({ hosts });
  }
  throw invalidArgument(
    `Invalid datastore endpoint "${endpoint}": use sqlite://PATH or etcd://HOST:PORT[,HOST:PORT...]`,
  );
}
