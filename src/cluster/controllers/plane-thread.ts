/**
 * The control plane's worker thread (see plane-host.ts): builds a client for the API's local
 * socket, runs the controllers, reports leadership changes, and on `stop` gives the Lease up
 * before answering `stopped`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { logger, setLogLevel } from '../../core/log.js';
import { KubeClient } from '../client/kube-client.js';
import { startControlPlane } from './manager.js';
import type { PlaneThreadData } from './plane-host.js';

const d = workerData as PlaneThreadData;
const log = logger('controllers');
setLogLevel(d.logLevel);
const client = new KubeClient({ server: d.server, socketPath: d.socketPath, token: d.token, ca: d.ca });
const plane = await startControlPlane(client, new Set(d.controllers), d.options);
let leader = false;
const report = setInterval(() => {
  if (plane.isLeader() === leader) return;
  leader = !leader;
  parentPort?.postMessage({ type: 'leader', value: leader });
}, 200);
parentPort?.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(report);
  // The thread answers `stopped` whatever the Lease's release answered; a failure is logged.
  void plane
    .stop()
    .catch((e: unknown) => log.warn('stopping the control plane failed', { err: e as Error }))
    .then(() => {
      client.close();
      parentPort?.postMessage({ type: 'stopped' });
    });
});
parentPort?.postMessage({ type: 'started' });
