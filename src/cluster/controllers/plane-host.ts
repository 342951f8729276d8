/**
 * Runs the control plane (scheduler and controllers) on a worker thread of `berth server`,
 * talking to the API over its local socket like any client. The API server and the
 * controllers are each busy enough to fill a core under load (JSON, HTTP, informers); on one
 * thread they took turns, on two they run side by side, as kube-apiserver and
 * kube-controller-manager do. The thread shares nothing with the API but the socket, so the
 * control plane still behaves exactly as an out-of-process one would.
 */
import { type LogLevel, logger, logLevel } from '../../core/log.js';
import { startWorker } from '../../core/worker.js';
import { KubeClient } from '../client/kube-client.js';
import type { ControlPlaneOptions } from './context.js';
import type { LeaderOptions } from './leader.js';
import { type ControlPlane, startControlPlane } from './manager.js';

const log = logger('controllers');

export interface PlaneThreadData {
  server: string;
  socketPath: string;
  token: string;
  ca?: string;
  controllers: string[];
  options: ControlPlaneOptions & LeaderOptions;
  logLevel: LogLevel;
}

export async function startControlPlaneThread(
  api: { server: string; socketPath: string; token: string; ca?: string },
  enabled: Set<string>,
  options: ControlPlaneOptions & LeaderOptions = {},
): Promise<ControlPlane> {
  // The token is the API server's control-plane token: controllers write as their own identities.
  options = { ...options, controllerIdentities: true };
  const data: PlaneThreadData = { ...api, controllers: [...enabled], options, logLevel: logLevel() };
  const worker = startWorker(import.meta.url, 'plane-thread', data);
  if (!worker) {
    // A bundle without the thread's entry: run in this thread instead.
    return startControlPlane(new KubeClient(api), enabled, options);
  }
  let leader = false;
  let stopping = false;
  worker.on('message', (m: { type: string; value?: boolean }) => {
    if (m.type === 'leader') leader = m.value === true;
  });
  // A control plane that died must not leave an API server that only looks healthy.
  worker.on('error', (err) => {
    log.error('control plane thread failed', { err });
    process.exit(1);
  });
  worker.on('exit', (code) => {
    if (stopping) return;
    log.error('control plane thread exited', { code });
    process.exit(1);
  });
  await new Promise<void>((resolve, reject) => {
    const on = (m: { type: string }) => {
      if (m.type !== 'started') return;
      worker.off('message', on);
      resolve();
    };
    worker.on('message', on);
    worker.once('error', reject);
  });
  return {
    isLeader: () => leader,
    stop: async () => {
      stopping = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5000);
        worker.on('message', (m: { type: string }) => {
          if (m.type !== 'stopped') return;
          clearTimeout(t);
          resolve();
        });
        worker.postMessage('stop');
      });
      await worker.terminate();
    },
  };
}
