/** Starts a real single-member etcd for a test, on free loopback ports inside the sandbox folder. */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Sandbox } from './sandbox.js';
import { until } from './until.js';

/** A free TCP port on 127.0.0.1 (the kernel picks it; a race with other tests is very unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startEtcd(box: Sandbox): Promise<{ url: string }> {
  const client = await freePort();
  const peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = box.spawn(
    'etcd',
    [
      '--name',
      'default',
      '--data-dir',
      join(box.dir, 'etcd'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `default=${peerUrl}`,
    ],
    { stdio: 'ignore' },
  );
  await until(
    'etcd healthy',
    async () => {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}`);
      return (await fetch(`${url}/health`)).ok;
    },
    15_000,
  );
  return { url };
}
