import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { invalidArgument } from '../../core/errors.js';

/** A user name and password for one registry. Never printed or logged. */
export interface Credentials {
  username: string;
  password: string;
}

/** The Docker-compatible auth file: REGISTRY_AUTH_FILE, else ~/.docker/config.json. */
export function authFilePath(): string {
  return (
    process.env.REGISTRY_AUTH_FILE ||
    join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')
  );
}

type AuthFile = { auths?: Record<string, { auth?: string }> } & Record<string, unknown>;

function read(path: string): AuthFile {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AuthFile;
  } catch {
    throw invalidArgument(`The auth file ${path} is not valid JSON`);
  }
}

/** Docker keys Docker Hub's credentials under its legacy index URL. */
function keyFor(registry: string): string {
  return registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
}

/** Looks up stored credentials for a registry host. */
export function loadCredentials(registry: string, path = authFilePath()): Credentials | undefined {
  const auths = read(path).auths ?? {};
  const entry =
    auths[keyFor(registry)] ?? auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
  if (!entry?.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** Stores credentials (mode 0600, atomically), keeping every other entry of the file. */
export async function saveCredentials(
  registry: string,
  creds: Credentials,
  path = authFilePath(),
): Promise<void> {
  const file = read(path);
  file.auths = {
    ...(file.auths ?? {}),
    [keyFor(registry)]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') },
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
}

/** Removes a registry's credentials; returns whether there were any. */
export async function removeCredentials(registry: string, path = authFilePath()): Promise<boolean> {
  const file = read(path);
  const key = keyFor(registry);
  if (!file.auths?.[key]) return false;
  delete file.auths[key];
  await writeFileAtomic(path, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
  return true;
}
