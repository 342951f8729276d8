/**
 * The Ingress controller's worker thread (see ingress-host.ts): builds the node's client from
 * its credentials, runs the controller, and on `stop` closes its listeners before answering
 * `stopped`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setLogLevel } from '../../core/log.js';
import { nodeClient } from '../agent/join.js';
import type { IngressThreadData } from './ingress-host.js';
import { startNodeIngress } from './node-ingress.js';

const d = workerData as IngressThreadData;
setLogLevel(d.logLevel);
const client = nodeClient(d.server, d.creds);
const running = startNodeIngress({ client, nodeName: d.nodeName, ...d.settings }).then(
  (n) => {
    parentPort?.postMessage({ type: 'started' });
    return n;
  },
  (e: Error) => {
    parentPort?.postMessage({ type: 'failed', message: e.message });
    return undefined;
  },
);
parentPort?.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  void running
    .then((n) => n?.stop())
    .catch(() => {})
    .then(() => {
      client.close();
      parentPort?.postMessage({ type: 'stopped' });
    });
});
