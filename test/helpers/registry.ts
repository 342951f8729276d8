/** Starts Debian's docker-registry (the CNCF distribution registry) on a free loopback port for a test. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './etcd.js';
import type { Sandbox } from './sandbox.js';
import { until } from './until.js';

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
}

/** With `htpasswd`, the registry requires Basic auth with that user and password. */
export async function startRegistry(
  box: Sandbox,
  options: { user?: string; password?: string } = {},
): Promise<TestRegistry> {
  const port = await freePort();
  const dir = join(box.dir, `registry-${port}`);
  let auth = '';
  if (options.user && options.password) {
    const { run } = await import('../../src/core/exec.js');
    // A bcrypt line made by the system's crypt(3), which the registry's htpasswd reader accepts.
    const hash = (
      await run('python3', [
        '-W',
        'ignore',
        '-c',
        'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
        options.password,
      ])
    ).stdout.trim();
    writeFileSync(join(box.dir, `htpasswd-${port}`), `${options.user}:${hash}\n`);
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(box.dir, `htpasswd-${port}`)}\n`;
  }
  const config = join(box.dir, `registry-${port}.yml`);
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`,
  );
  const child = box.spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  await until(
    'docker-registry answers',
    async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}`);
      return answers(box, port);
    },
    15_000,
  );
  return { host: `127.0.0.1:${port}` };
}

/** Whether the registry answers /v2/ yet, asked from the sandbox's network namespace when it has one. */
async function answers(box: Sandbox, port: number): Promise<boolean> {
  const url = `http://127.0.0.1:${port}/v2/`;
  if (!box.netns) {
    // Refused until it listens: until() counts that as not yet.
    const r = await fetch(url);
    return r.status === 200 || r.status === 401;
  }
  const probe = `fetch(${JSON.stringify(url)}).then((r) => process.exit(r.status === 200 || r.status === 401 ? 0 : 1), () => process.exit(1))`;
  return (await box.exec(process.execPath, ['-e', probe], { check: false })).code === 0;
}
