/**
 * An Ingress helper process (started by helpers.ts from the controller's thread): accepts on
 * the listening sockets the thread bound and sent, and proxies exactly as the thread's
 * listeners would (proxy.ts), from the routes, endpoints and certificates the thread sends
 * after each change. It exits when its IPC channel closes: when the agent stops it, and when
 * the agent's process is gone, even by SIGKILL, so no helper outlives it.
 */
import { createSecureContext } from 'node:tls';
import { setLogLevel } from '../../core/log.js';
import { CertStore, tlsOptions } from './certs.js';
import type { ToHelper } from './helpers.js';
import type { ListenHandle } from './listen-handle.js';
import { listenIngress } from './proxy.js';
import { SnapshotRouter } from './snapshot.js';

process.on('disconnect', () => process.exit(0));
// Ctrl-C at a terminal signals the whole process group: the agent stops its helpers itself.
process.on('SIGINT', () => {});

let start: Extract<ToHelper, { type: 'start' }> | undefined;
let router: SnapshotRouter | undefined;
let applied = false;
const handles: { http?: ListenHandle; https?: ListenHandle } = {};
let listening = false;

const send = (m: unknown) => {
  if (process.connected) process.send?.(m);
};

async function listenWhenReady(): Promise<void> {
  if (listening || !start || !router || !applied || !handles.http || !handles.https) return;
  listening = true;
  try {
    const proxy = await listenIngress({
      router,
      httpPort: start.httpPort,
      httpsPort: start.httpsPort,
      handles: { http: handles.http, https: handles.https },
      defaultCertificate: start.defaultCertificate,
    });
    send({ type: 'serving', httpPort: proxy.httpPort, httpsPort: proxy.httpsPort });
  } catch (e) {
    // Exits once the message is out: the thread tells why, not just that the helper died.
    process.send?.({ type: 'failed', message: (e as Error).message }, () => process.exit(1));
  }
}

process.on('message', (m: ToHelper, handle: unknown) => {
  switch (m.type) {
    case 'start':
      start = m;
      setLogLevel(m.logLevel);
      router = new SnapshotRouter(
        new CertStore(createSecureContext({ ...tlsOptions, ...m.defaultCertificate })),
      );
      break;
    case 'handle':
      handles[m.which] = handle as ListenHandle;
      break;
    case 'state': {
      if (!router) return;
      const failed = router.apply(m.snapshot);
      applied = true;
      send({ type: 'applied', version: m.snapshot.version, failed });
      break;
    }
  }
  void listenWhenReady();
});
