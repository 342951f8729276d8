/**
 * A TCP connection to a port on the loopback address of a network namespace, where kubectl
 * port-forward goes (so a server listening only on the pod's 127.0.0.1 is reachable too).
 * Node cannot enter another network namespace, so `socat` run by `nsenter --net` connects and
 * relays over its stdio; its notices tell whether the connection was made, so a refused port
 * is an error here and not a stream that ends at once.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { logger } from '../../../core/log.js';

const log = logger('agent');

/** Connects to 127.0.0.1:`port` in `netns` (a pinned namespace's path; '' for the agent's own). */
export function dialInNetns(netns: string, port: number, signal?: AbortSignal): Promise<Duplex> {
  // -t: after one side ends, wait for the other as long as TCP would (not socat's 0.5 s);
  // shut-close: the pod's end of the connection closes socat's stdout (a pipe cannot be shut
  // down), so the end reaches the client at once.
  const args = ['-d', '-d', '-t', '86400', '-,shut-close', `TCP:127.0.0.1:${port}`];
  const child = netns
    ? spawn('nsenter', [`--net=${netns}`, 'socat', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('socat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const onAbort = () => child.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  child.on('exit', () => signal?.removeEventListener('abort', onAbort));
  return new Promise((resolve, reject) => {
    let errText = '';
    let connected = false;
    child.on('error', reject);
    child.stderr.on('data', (b: Buffer) => {
      const text = b.toString();
      for (const line of text.split('\n')) if (/ E /.test(line)) errText = line.replace(/^.* E /, '');
      if (!connected && /successfully connected/.test(text)) {
        connected = true;
        const d = Duplex.from({ readable: child.stdout, writable: child.stdin });
        child.stdin.on('error', (e) => log.debug('port-forward input closed', { port, err: e }));
        child.on('exit', (code) => {
          if (code) d.destroy(new Error(errText || `the connection to port ${port} failed`));
        });
        resolve(d);
      }
    });
    child.on('exit', (code) => {
      if (!connected)
        reject(new Error(errText || `cannot connect to port ${port} (socat exited with ${code})`));
    });
  });
}
