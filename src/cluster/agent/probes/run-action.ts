/**
 * Runs one probe or lifecycle-hook action against a container, as the kubelet's prober does:
 * exec in the container (through the runtime's exec hook), or from the node to the pod's
 * address: an HTTP(S) GET (2xx and 3xx succeed), a TCP connect, a gRPC health v1 Check.
 * It never throws: every outcome is a result with the output `kubectl describe` shows.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { PodRuntime } from '../runtime.js';
import { grpcHealthCheck } from './grpc-health.js';
import type { ProbeAction } from './probe-spec.js';

export interface ActionTarget {
  containerId: string;
  /** The pod's address, which network actions connect to unless the action names a host. */
  podIP: string;
  runtime: Pick<PodRuntime, 'exec'>;
}

export interface ActionResult {
  ok: boolean;
  /** What failed (or the command's output), as the Unhealthy event shows it. */
  output: string;
}

/** The most output of an exec kept (the kubelet keeps 10 KiB). */
const MAX_OUTPUT = 10 * 1024;

const hostPort = (host: string, port: number) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

async function execAction(command: string[], t: ActionTarget, timeoutMs: number): Promise<ActionResult> {
  if (!t.runtime.exec) return { ok: false, output: 'this node cannot run commands in containers' };
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      if (out.length < MAX_OUTPUT) out += String(chunk).slice(0, MAX_OUTPUT - out.length);
      done();
    },
  });
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const code = await t.runtime.exec(t.containerId, command, {
      stdout: sink,
      stderr: sink,
      tty: false,
      signal,
    });
    if (signal.aborted)
      return { ok: false, output: `command ${JSON.stringify(command)} timed out after ${timeoutMs / 1000}s` };
    return { ok: code === 0, output: code === 0 ? out : out || `command exited with status ${code}` };
  } catch (e) {
    return {
      ok: false,
      output: signal.aborted ? `command timed out after ${timeoutMs / 1000}s` : (e as Error).message,
    };
  }
}

function httpAction(
  a: Extract<ProbeAction, { type: 'http' }>,
  host: string,
  timeoutMs: number,
): Promise<ActionResult> {
  const url = `${a.scheme.toLowerCase()}://${hostPort(host, a.port)}${a.path}`;
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const h of a.headers) headers[h.name] = h.value;
  const send = a.scheme === 'HTTPS' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(
        code >= 200 && code < 400
          ? { ok: true, output: '' }
          : { ok: false, output: `HTTP probe failed with statuscode: ${code}` },
      );
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({
        ok: false,
        output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    });
    req.on('error', (e) => resolve({ ok: false, output: `Get "${url}": ${e.message}` }));
    req.end();
  });
}

function tcpAction(host: string, port: number, timeoutMs: number): Promise<ActionResult> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: ActionResult) => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () =>
      done({ ok: false, output: `dial tcp ${hostPort(host, port)}: i/o timeout` }),
    );
    sock.on('connect', () => done({ ok: true, output: '' }));
    sock.on('error', (e) => done({ ok: false, output: `dial tcp ${hostPort(host, port)}: ${e.message}` }));
  });
}

/** Runs `action` against the container; `timeoutMs` bounds it. */
export async function runAction(
  action: ProbeAction,
  t: ActionTarget,
  timeoutMs: number,
): Promise<ActionResult> {
  switch (action.type) {
    case 'exec':
      return execAction(action.command, t, timeoutMs);
    case 'http':
      return httpAction(action, action.host ?? t.podIP, timeoutMs);
    case 'tcp':
      return tcpAction(action.host ?? t.podIP, action.port, timeoutMs);
    case 'grpc':
      return grpcHealthCheck(t.podIP, action.port, action.service, timeoutMs);
    case 'invalid':
      return { ok: false, output: action.message };
    case 'sleep':
      await new Promise((r) => setTimeout(r, Math.min(action.seconds * 1000, timeoutMs)));
      return { ok: true, output: '' };
  }
}
