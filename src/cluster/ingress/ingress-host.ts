/**
 * Runs the node's Ingress controller on a worker thread of the agent's process. Its TLS
 * handshakes and proxying are CPU work that would otherwise take turns with the agent's pod
 * syncs and, in `berth server`, with the API server on one event loop; on a thread of its own
 * it uses another core. It reaches the API with the node's credentials like any client. A
 * bundle without the thread's entry runs it on the caller's thread instead.
 */
import { type LogLevel, logger, logLevel } from '../../core/log.js';
import { startWorker } from '../../core/worker.js';
import type { NodeCredentials } from '../agent/join.js';
import type { KubeClient } from '../client/kube-client.js';
import { type IngressSettings, runNodeIngress } from './node-ingress.js';

const log = logger('ingress');

export interface IngressThreadData {
  server: string;
  creds: NodeCredentials;
  nodeName: string;
  settings: IngressSettings;
  logLevel: LogLevel;
}

/**
 * Starts the controller (`settings`), or with none (`--disable ingress`) clears the node's
 * serving mark. A controller that fails to start or dies is logged; the agent goes on.
 */
export function startIngress(o: {
  server: string;
  creds: NodeCredentials;
  client: KubeClient;
  nodeName: string;
  settings: IngressSettings | undefined;
}): { stop(): void } {
  if (!o.settings) return runNodeIngress({ client: o.client, nodeName: o.nodeName, settings: undefined });
  const data: IngressThreadData = {
    server: o.server,
    creds: o.creds,
    nodeName: o.nodeName,
    settings: o.settings,
    logLevel: logLevel(),
  };
  const worker = startWorker(import.meta.url, 'ingress-thread', data);
  if (!worker) return runNodeIngress({ client: o.client, nodeName: o.nodeName, settings: o.settings });
  let stopping = false;
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'failed')
      log.error(
        'the Ingress controller did not start; free the ports, choose others with --ingress-http-port and --ingress-https-port, or pass --disable ingress',
        { http: o.settings?.httpPort, https: o.settings?.httpsPort, err: m.message },
      );
  });
  worker.on('error', (err) => log.error('the Ingress controller thread failed', { err }));
  worker.on('exit', (code) => {
    if (!stopping) log.error('the Ingress controller thread exited', { code });
  });
  // The agent's process must not wait on it to exit.
  worker.unref();
  return {
    stop() {
      stopping = true;
      const t = setTimeout(() => void worker.terminate(), 2000);
      t.unref();
      worker.on('message', (m: { type: string }) => {
        if (m.type !== 'stopped') return;
        clearTimeout(t);
        void worker.terminate();
      });
      worker.postMessage('stop');
    },
  };
}
