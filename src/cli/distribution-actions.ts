import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { removeCredentials, saveCredentials } from '../engine/registry/auth-file.js';
import { RegistryClient } from '../engine/registry/client.js';
import { silentProgress, streamProgress } from '../engine/registry/progress.js';
import { withEngine, withInterrupt } from './engine.js';

function tlsVerify(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidArgument(`Invalid --tls-verify value "${v}": use true or false`);
}

function insecure(v: string | undefined): boolean | undefined {
  const t = tlsVerify(v);
  return t === undefined ? undefined : !t;
}

export async function pullAction(
  cmd: Command,
  ref: string,
  opts: { quiet?: boolean; platform?: string; tlsVerify?: string },
): Promise<void> {
  const progress = opts.quiet ? silentProgress() : streamProgress(process.stderr);
  const row = await withEngine(cmd, (engine) =>
    withInterrupt((signal) =>
      engine.images.pull(ref, {
        platform: opts.platform,
        insecure: insecure(opts.tlsVerify),
        progress,
        signal,
      }),
    ),
  );
  progress.done();
  if (opts.quiet) {
    process.stdout.write(`${row.id}\n`);
    return;
  }
  process.stdout.write(`Digest: ${row.digests[0]?.split('@')[1] ?? row.manifestDigest}\n`);
  process.stdout.write(`Status: Downloaded image for ${row.names[0] ?? ref}\n`);
  process.stdout.write(`${row.names[0] ?? row.id}\n`);
}

export async function pushAction(
  cmd: Command,
  image: string,
  dest: string | undefined,
  opts: { quiet?: boolean; tlsVerify?: string },
): Promise<void> {
  const progress = opts.quiet ? silentProgress() : streamProgress(process.stderr);
  const digest = await withEngine(cmd, (engine) =>
    withInterrupt((signal) =>
      engine.images.push(image, dest, { insecure: insecure(opts.tlsVerify), progress, signal }),
    ),
  );
  progress.done();
  process.stdout.write(opts.quiet ? `${digest}\n` : `${dest ?? image}: digest: ${digest}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export async function loginAction(
  _cmd: Command,
  registry: string,
  opts: { username?: string; password?: string; passwordStdin?: boolean; tlsVerify?: string },
): Promise<void> {
  if (opts.password && opts.passwordStdin)
    throw invalidArgument('--password and --password-stdin are mutually exclusive');
  if (!opts.username)
    throw invalidArgument('Give a user name with -u (interactive login is not supported yet)');
  const password = opts.passwordStdin ? await readStdin() : opts.password;
  if (!password) throw invalidArgument('Give a password with --password-stdin or -p');
  if (opts.password)
    process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const creds = { username: opts.username, password };
  await new RegistryClient(host, { insecure: insecure(opts.tlsVerify), credentials: creds }).ping();
  await saveCredentials(host, creds);
  process.stdout.write('Login Succeeded\n');
}

export async function logoutAction(_cmd: Command, registry: string): Promise<void> {
  const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const had = await removeCredentials(host);
  process.stdout.write(had ? `Removing login credentials for ${host}\n` : `Not logged in to ${host}\n`);
}
