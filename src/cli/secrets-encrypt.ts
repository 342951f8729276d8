import type { Command } from 'commander';

const defaultDataDir = () => process.env.BERTH_DATA_DIR ?? '/var/lib/berth/server';

/**
 * `berth secrets-encrypt status|rotate`: asks the running server, over its local socket in the
 * data dir with the admin token, how Secrets are encrypted, or to rotate the key.
 */
export function registerSecretsEncrypt(program: Command): void {
  const cmd = program
    .command('secrets-encrypt')
    .description('show or rotate the encryption of Secrets at rest (the server must be running)');
  const call = async (method: string, path: string, dataDir: string) => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { KubeClient } = await import('../cluster/client/kube-client.js');
    const { isUnavailable, unavailable } = await import('../core/errors.js');
    let token: string;
    try {
      token = readFileSync(join(dataDir, 'tls', 'admin-token'), 'utf8').trim();
    } catch (e) {
      throw unavailable(
        `Cannot read the admin token in ${dataDir}: is "berth server --data-dir ${dataDir}" set up?`,
        e,
      );
    }
    const client = new KubeClient({
      server: 'http://localhost',
      token,
      socketPath: join(dataDir, 'api.sock'),
    });
    try {
      return await client.request<Record<string, unknown>>(method, path);
    } catch (e) {
      // The request never reached a server: say which socket and what to do.
      if (isUnavailable(e) && /ENOENT|ECONNREFUSED/.test((e as Error).message))
        throw unavailable(
          `Cannot reach the server at ${join(dataDir, 'api.sock')}: is "berth server --data-dir ${dataDir}" running?`,
          e,
        );
      throw e;
    } finally {
      client.close();
    }
  };
  const print = async (report: Record<string, unknown>, format?: string) => {
    if (format === 'json') return process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const { formatEncryptionStatus } = await import('../cluster/apiserver/encryption/status-text.js');
    process.stdout.write(formatEncryptionStatus(report));
  };
  cmd
    .command('status')
    .description('whether Secrets are encrypted, the active key, and how many Secrets use each key')
    .option('--data-dir <dir>', 'cluster state folder', defaultDataDir())
    .option('-o, --output <format>', 'output format: json')
    .action(async (opts: { dataDir: string; output?: string }) => {
      await print(await call('GET', '/berth/secrets-encryption', opts.dataDir), opts.output);
    });
  cmd
    .command('rotate')
    .description('add a new key, write every Secret again with it, then drop the old keys')
    .option('--data-dir <dir>', 'cluster state folder', defaultDataDir())
    .option('-o, --output <format>', 'output format: json')
    .action(async (opts: { dataDir: string; output?: string }) => {
      await print(await call('POST', '/berth/secrets-encryption/rotate', opts.dataDir), opts.output);
    });
}
