import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

/** The addon's path once looked up: undefined when it is not there, null before the look-up. */
let addon: string | undefined | null = null;

/**
 * Where npm built better-sqlite3's addon, when it is there. Without a path the package finds
 * its addon through the `bindings` package, which loads two more modules and tries a list of
 * folders worked out from a stack trace: on a busy machine that cost a short command more
 * than opening the database did.
 */
function addonPath(): string | undefined {
  if (addon === null) {
    const built = join(
      dirname(require.resolve('better-sqlite3/package.json')),
      'build',
      'Release',
      'better_sqlite3.node',
    );
    addon = existsSync(built) ? built : undefined;
  }
  return addon;
}

/**
 * Opens an SQLite database with better-sqlite3. The CLI's bundle carries the package's
 * JavaScript (compiled with the bundle's code cache); its addon is loaded on first use, so
 * that commands which never touch a database do not pay for it.
 */
export function openSqlite(file: string, options: BetterSqlite3.Options = {}): BetterSqlite3.Database {
  const nativeBinding = addonPath();
  return new BetterSqlite3(file, nativeBinding === undefined ? options : { nativeBinding, ...options });
}
