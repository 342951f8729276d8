import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A small helper process that starts commands for a long-lived Berth process (the server with
 * its embedded agent, `berth agent`, the Docker API service).
 *
 * Why: Node starts a child with fork() then exec(), and fork() copies the page tables of the
 * whole parent, its worker threads' heaps included. In a server holding 150-450 MB that blocks
 * the event loop 7-20 ms per command; a pod start runs about ten commands (ip, mount, CNI
 * plugins, runc) and its removal as many, so in bench/pods half of the agent's main thread went
 * to fork() alone. This process holds only Node's bare runtime, so its fork() costs about 1 ms,
 * and it does that work on its own thread of execution, beside the server's.
 *
 * Protocol: one JSON object per line each way. A request names the program, its arguments,
 * and optionally cwd, env and stdin (base64); `{id, kill: true}` kills a running one. The reply
 * carries the exit code and signal and the output (base64), or the error that kept it from
 * starting (`error: {code, message}`).
 *
 * A request with `daemon: true` starts a monitor that outlives its start (conmon): in its own
 * session, with fd 3 a pipe on which it reports one line (conmon's sync pipe). The reply comes
 * as soon as that line does (`line`), or when fd 3 closes without one, with what it wrote to
 * stderr; the helper then lets go of it without waiting for it to exit.
 */
const CHILD_SOURCE = String.raw`
'use strict';
const { spawn } = require('node:child_process');
const kids = new Map();
let closing = false;
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const maybeExit = () => { if (closing && kids.size === 0) process.exit(0); };
// The child of request m, or undefined when spawn threw (the error is the reply).
function spawnFor(m, options) {
  try {
    return spawn(m.file, m.args, { argv0: m.argv0, cwd: m.cwd, env: m.env, ...options });
  } catch (e) {
    send({ id: m.id, error: { code: e.code, message: e.message } });
    return undefined;
  }
}
function start(m) {
  const child = spawnFor(m, { stdio: [m.input == null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (!child) return;
  const entry = { child, done: false };
  kids.set(m.id, entry);
  const out = [];
  const err = [];
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => err.push(b));
  child.on('error', (e) => {
    if (entry.done || child.pid !== undefined) return;
    entry.done = true;
    kids.delete(m.id);
    send({ id: m.id, error: { code: e.code, message: e.message } });
    maybeExit();
  });
  child.on('close', (code, signal) => {
    if (entry.done) return;
    entry.done = true;
    kids.delete(m.id);
    send({
      id: m.id,
      code,
      signal,
      stdout: Buffer.concat(out).toString('base64'),
      stderr: Buffer.concat(err).toString('base64'),
    });
    maybeExit();
  });
  if (m.input != null) {
    child.stdin.on('error', () => {}); // the program may exit before reading it all
    child.stdin.end(Buffer.from(m.input, 'base64'));
  }
}
function startDaemon(m) {
  const child = spawnFor(m, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
  if (!child) return;
  const entry = { child, done: false };
  kids.set(m.id, entry);
  const err = [];
  let line = '';
  const sync = child.stdio[3];
  const finish = (reply) => {
    if (entry.done) return;
    entry.done = true;
    kids.delete(m.id);
    sync.destroy();
    child.stderr.destroy();
    child.unref();
    send(reply);
    maybeExit();
  };
  const report = (got) =>
    finish({ id: m.id, code: null, signal: null, stdout: '', stderr: Buffer.concat(err).toString('base64'), line: got });
  child.stderr.on('data', (b) => err.push(b));
  sync.on('error', () => {}); // reported as the close below
  sync.on('data', (b) => {
    line += b.toString('utf8');
    const nl = line.indexOf('\n');
    if (nl >= 0) report(line.slice(0, nl));
  });
  sync.on('close', () => report(undefined));
  child.on('error', (e) => {
    if (child.pid === undefined) finish({ id: m.id, error: { code: e.code, message: e.message } });
  });
}
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.kill) kids.get(m.id)?.child.kill('SIGKILL');
    else if (m.daemon) startDaemon(m);
    else start(m);
  }
});
// The parent is gone: finish what runs (a runc delete half done helps nobody), then leave.
process.stdin.on('end', () => { closing = true; maybeExit(); });
`;

/** What a command produced, as the spawner reports it. */
export interface SpawnOutcome {
  /** A daemon's line on fd 3; absent when fd 3 closed without one (or for other commands). */
  line?: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** A command that could not be started (ENOENT, EACCES, ...). */
export class SpawnError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface SpawnRequest {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /**
   * A monitor that outlives its start (see the protocol above): the outcome comes with its
   * first line on fd 3, without waiting for it to exit. `input` is not given to a daemon.
   */
  daemon?: boolean;
  /** The program's argv[0] when `file` is a path it was found at. Default: `file`. */
  argv0?: string;
}

interface Pending {
  resolve(o: SpawnOutcome): void;
  reject(e: Error): void;
}

export class Spawner {
  private child?: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';

  /**
   * Starts one command in the helper process. `outcome` resolves when it has exited and its
   * output is read; `kill` sends it SIGKILL (as an abort of `signal` does).
   */
  run(
    file: string,
    args: readonly string[],
    req: SpawnRequest = {},
    signal?: AbortSignal,
  ): { outcome: Promise<SpawnOutcome>; kill(): void } {
    const child = this.ensure();
    const id = this.nextId++;
    const kill = () => this.kill(id);
    const outcome = new Promise<SpawnOutcome>((resolve, reject) => {
      signal?.addEventListener('abort', kill, { once: true });
      const settle = () => {
        signal?.removeEventListener('abort', kill);
        this.pending.delete(id);
        if (this.pending.size === 0) this.setRef(false);
      };
      this.pending.set(id, {
        resolve: (o) => {
          settle();
          resolve(o);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      this.setRef(true);
      const input = req.input === undefined ? undefined : Buffer.from(req.input).toString('base64');
      const daemon = req.daemon ? true : undefined;
      const argv0 = req.argv0;
      child.stdin!.write(
        `${JSON.stringify({ id, file, args, argv0, cwd: req.cwd, env: req.env, input, daemon })}\n`,
      );
    });
    return { outcome, kill };
  }

  /** Kills a command it started (SIGKILL); its reply still arrives. */
  private kill(id: number): void {
    this.child?.stdin?.write(`${JSON.stringify({ id, kill: true })}\n`);
  }

  /** Ends the helper once the commands it runs have finished. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    // The program is our own source, passed whole: no argument of the caller reaches Node.
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.onData(d));
    child.stdin!.on('error', () => {}); // reported through 'exit' below
    child.on('exit', (code, sig) => {
      if (this.child === child) this.child = undefined;
      const why = new Error(`The helper process that runs commands exited (${sig ?? `status ${code}`})`);
      for (const p of [...this.pending.values()]) p.reject(why);
    });
    this.setRef(false);
    return child;
  }

  private onData(d: string): void {
    this.buffered += d;
    for (let i = this.buffered.indexOf('\n'); i >= 0; i = this.buffered.indexOf('\n')) {
      const m = JSON.parse(this.buffered.slice(0, i)) as {
        id: number;
        line?: string;
        code?: number | null;
        signal?: NodeJS.Signals | null;
        stdout?: string;
        stderr?: string;
        error?: { code?: string; message: string };
      };
      this.buffered = this.buffered.slice(i + 1);
      const p = this.pending.get(m.id);
      if (!p) continue;
      if (m.error) p.reject(new SpawnError(m.error.code, m.error.message));
      else
        p.resolve({
          ...(m.line !== undefined ? { line: m.line } : {}),
          code: m.code ?? null,
          signal: m.signal ?? null,
          stdout: Buffer.from(m.stdout ?? '', 'base64'),
          stderr: Buffer.from(m.stderr ?? '', 'base64'),
        });
    }
  }

  /** The helper keeps the process alive only while a command of ours runs. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdout, c.stdin] as { ref?(): void; unref?(): void }[])
      on ? h?.ref?.() : h?.unref?.();
  }
}
