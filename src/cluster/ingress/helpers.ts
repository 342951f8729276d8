/**
 * The Ingress helper processes, run by the controller's thread: `count` children of the
 * agent's process (ingress-helper.ts) accept on the listening sockets the thread bound and
 * serve every request, so the proxy uses as many cores (Node 20 has no reusePort, and worker
 * threads cannot share a listening socket: see listen-handle.ts). The thread keeps the
 * informers and sends each helper the routing state after every rebuild (snapshot.ts). A
 * helper that dies is started again (later each time it dies young); each exits when its
 * IPC channel closes, so none outlives the agent, even one killed by SIGKILL.
 */
import { type ChildProcess, fork, type SpawnOptions, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { type LogLevel, logger } from '../../core/log.js';
import type { CertBindings } from './certs.js';
import type { HelperAffinity } from './cpu-affinity.js';
import type { ListenHandle } from './listen-handle.js';
import type { IngressSnapshot } from './snapshot.js';

const log = logger('ingress');

/** Messages from the thread to a helper. */
export type ToHelper =
  | {
      type: 'start';
      logLevel: LogLevel;
      /** The ports the sockets were bound to (0: any), checked by the helper once listening. */
      httpPort: number;
      httpsPort: number;
      defaultCertificate: { cert: string; key: string };
    }
  /** Sent with the socket as the message's handle. */
  | { type: 'handle'; which: 'http' | 'https' }
  | { type: 'state'; snapshot: IngressSnapshot };

/** Messages from a helper. */
export type FromHelper =
  | { type: 'serving'; httpPort: number; httpsPort: number }
  | { type: 'failed'; message: string }
  | { type: 'applied'; version: number };

export interface IngressHelpersOptions {
  count: number;
  handles: { http: ListenHandle; https: ListenHandle };
  httpPort: number;
  httpsPort: number;
  defaultCertificate: { cert: string; key: string };
  logLevel: LogLevel;
  /** The helper's entry: see helperEntry(). */
  entry: HelperEntry;
  /** Helper i runs on CPU `cpus[i]` (cpu-affinity.ts); unset: wherever the scheduler puts it. */
  affinity?: HelperAffinity;
}

export interface HelperEntry {
  file: string;
  execArgv: string[];
}

/**
 * The helper's entry beside the caller (`callerUrl`): ingress-helper.js in the bundle (its own
 * entry in scripts/build.mjs), ingress-helper.ts under tsx from source. Undefined when the
 * file is missing (a bundle built without it): the thread then serves by itself.
 */
export function helperEntry(callerUrl: string): HelperEntry | undefined {
  const ts = callerUrl.endsWith('.ts');
  const file = new URL(`./ingress-helper.${ts ? 'ts' : 'js'}`, callerUrl);
  if (!existsSync(file)) return undefined;
  return { file: file.pathname, execArgv: ts ? ['--import', import.meta.resolve('tsx')] : [] };
}

/** A helper that served this long before it died is started again soon; younger deaths back off. */
const HEALTHY_MS = 10_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;
/** How long a helper has to exit once told to, before it is killed. */
const STOP_GRACE_MS = 2_000;

interface Slot {
  /** The CPU its helpers run on, if pinned. */
  cpu?: number;
  child?: ChildProcess;
  servingSince?: number;
  retryMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * Emits `serving` (pid, ports), `applied` (pid, version) and `exit` (pid) as helpers come, take
 * a snapshot and go.
 */
export class IngressHelpers extends EventEmitter {
  private readonly slots: Slot[];
  private latest: IngressSnapshot | undefined;
  /** The certificate bindings each helper has, to send them only when they change. */
  private readonly certsSent = new WeakMap<ChildProcess, string>();
  private stopping = false;
  /** Whether any helper has served yet: one that dies before is a failure to start. */
  private served = false;

  constructor(private readonly o: IngressHelpersOptions) {
    super();
    this.slots = Array.from({ length: o.count }, (_, i) => ({
      retryMs: FIRST_RETRY_MS,
      cpu: o.affinity?.cpus[i],
    }));
  }

  /**
   * Starts the helpers; resolves with the ports once the first serves, rejects with the first
   * one's failure to listen (a port taken) or its death before serving, having stopped them all.
   */
  start(): Promise<{ httpPort: number; httpsPort: number }> {
    const first = new Promise<{ httpPort: number; httpsPort: number }>((resolve, reject) => {
      const serving = (_pid: number, ports: { httpPort: number; httpsPort: number }) => {
        this.off('failed', failed);
        resolve(ports);
      };
      const failed = (message: string) => {
        this.off('serving', serving);
        void this.stop().then(() => reject(new Error(message)));
      };
      this.once('serving', serving);
      this.once('failed', failed);
    });
    for (const s of this.slots) this.spawn(s);
    return first;
  }

  /** The pids of the helpers running now. */
  pids(): number[] {
    return this.slots.flatMap((s) =>
      s.child?.pid !== undefined && s.child.exitCode === null && s.child.signalCode === null
        ? [s.child.pid]
        : [],
    );
  }

  /** Sends the routing state to every helper (and to those started later). */
  update(snapshot: IngressSnapshot): void {
    this.latest = snapshot;
    for (const s of this.slots) if (s.child) this.sendState(s.child);
  }

  private sendState(child: ChildProcess): void {
    const s = this.latest;
    if (!s || !child.connected) return;
    const certs = s.certs && certsKey(s.certs);
    const unchanged = certs !== undefined && this.certsSent.get(child) === certs;
    if (certs !== undefined) this.certsSent.set(child, certs);
    const { certs: _, ...rest } = s;
    this.send(child, { type: 'state', snapshot: unchanged ? rest : s });
  }

  private send(child: ChildProcess, m: ToHelper, handle?: ListenHandle): void {
    // A helper that just died: its exit starts the next, which gets the latest state.
    child.send(m, handle as Parameters<ChildProcess['send']>[1], (e) => {
      if (e) log.debug('could not send to an Ingress helper', { pid: child.pid, err: e });
    });
  }

  private spawn(slot: Slot): void {
    slot.timer = undefined;
    const env = { ...process.env };
    // Node would parse the file as each helper starts; helpers make no TLS client connections.
    delete env.NODE_EXTRA_CA_CERTS;
    const options: SpawnOptions = {
      env,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    };
    const { file, execArgv } = this.o.entry;
    // Pinned: taskset sets the CPU and executes Node in its place (the same pid), which finds
    // the IPC channel fork() would have given it in the environment spawn() sets.
    const child =
      this.o.affinity && slot.cpu !== undefined
        ? spawn(
            this.o.affinity.taskset,
            ['-c', String(slot.cpu), process.execPath, ...execArgv, file],
            options,
          )
        : fork(file, [], { ...options, execArgv });
    slot.child = child;
    slot.servingSince = undefined;
    const pid = child.pid ?? 0;
    child.on('message', (m: FromHelper) => {
      if (m.type === 'serving') {
        this.served = true;
        slot.servingSince = Date.now();
        this.emit('serving', pid, { httpPort: m.httpPort, httpsPort: m.httpsPort });
      } else if (m.type === 'applied') this.emit('applied', pid, m.version);
      else if (m.type === 'failed') {
        log.error('an Ingress helper could not listen', { pid, err: m.message });
        this.emit('failed', m.message);
      }
    });
    child.on('error', (e) => log.warn('an Ingress helper failed', { pid, err: e }));
    child.on('exit', (code, signal) => {
      if (slot.child === child) slot.child = undefined;
      this.emit('exit', pid);
      if (this.stopping) return;
      // Before any helper served, a death is no passing trouble (a broken install, say): the
      // start fails, as a port in use makes it fail, instead of retrying for ever.
      if (!this.served) {
        this.emit('failed', `an Ingress helper exited before serving (${signal ?? `code ${code}`})`);
        return;
      }
      const healthy = slot.servingSince !== undefined && Date.now() - slot.servingSince >= HEALTHY_MS;
      const delay = healthy ? FIRST_RETRY_MS : Math.min(slot.retryMs * 2, MAX_RETRY_MS);
      slot.retryMs = delay;
      log.warn('an Ingress helper exited; starting another', { pid, code, signal, inMs: delay });
      slot.timer = setTimeout(() => this.spawn(slot), delay);
    });
    const { entry: _, handles: __, count: ___, affinity: ____, ...start } = this.o;
    this.send(child, { type: 'start', ...start });
    this.send(child, { type: 'handle', which: 'http' }, this.o.handles.http);
    this.send(child, { type: 'handle', which: 'https' }, this.o.handles.https);
    this.sendState(child);
  }

  /** Ends every helper (closing its channel, which it exits on) and waits for them to go. */
  async stop(): Promise<void> {
    this.stopping = true;
    const gone: Promise<void>[] = [];
    for (const s of this.slots) {
      clearTimeout(s.timer);
      const c = s.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      // One whose event loop is stuck does not see its channel close.
      const kill = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
      gone.push(
        new Promise((r) =>
          c.once('exit', () => {
            clearTimeout(kill);
            r();
          }),
        ),
      );
      if (c.connected) c.disconnect();
      else c.kill();
    }
    await Promise.all(gone);
  }
}

/** What identifies a set of certificate bindings: names, Secrets and versions, not the PEM. */
function certsKey(b: CertBindings): string {
  const secrets = [...b.secrets].map(([k, p]) => `${k}@${p.version}`);
  return JSON.stringify([[...b.exact], [...b.wildcard], secrets]);
}
