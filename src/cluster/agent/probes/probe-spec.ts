/**
 * A container's probe as the pod spec writes it, with Kubernetes' defaults filled in
 * (period 10 s, timeout 1 s, success 1, failure 3), and the one action it runs resolved:
 * exec, httpGet (named ports looked up in the container's ports), tcpSocket or grpc.
 */

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export type ProbeAction =
  | { type: 'exec'; command: string[] }
  | {
      type: 'http';
      scheme: 'HTTP' | 'HTTPS';
      host?: string;
      port: number;
      path: string;
      headers: { name: string; value: string }[];
    }
  | { type: 'tcp'; host?: string; port: number }
  | { type: 'grpc'; port: number; service: string }
  | { type: 'sleep'; seconds: number }
  /** An action that cannot run (a named port the container lacks): it fails with `message`. */
  | { type: 'invalid'; message: string };

export interface ProbeSpec {
  action: ProbeAction;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  /** The probe-level grace period for the kill a failed liveness or startup probe causes. */
  terminationGracePeriodSeconds?: number;
}

type Obj = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
type SpecContainer = any;

/** The container port a probe or hook names: a number, or the name of one of its ports. */
export function resolvePort(c: SpecContainer, port: unknown): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const named = ((c?.ports ?? []) as { name?: string; containerPort?: number }[]).find(
    (p) => p.name === port,
  );
  if (named?.containerPort) return named.containerPort;
  throw new Error(`port "${String(port)}" is not a number nor a named port of container "${c?.name}"`);
}

/** The action of a probe or lifecycle handler (exec, httpGet, tcpSocket, grpc, sleep). */
export function actionOf(c: SpecContainer, h: Obj): ProbeAction | undefined {
  try {
    return resolveAction(c, h);
  } catch (e) {
    return { type: 'invalid', message: (e as Error).message };
  }
}

function resolveAction(c: SpecContainer, h: Obj): ProbeAction | undefined {
  const exec = h.exec as { command?: string[] } | undefined;
  if (exec) return { type: 'exec', command: exec.command ?? [] };
  const http = h.httpGet as Obj | undefined;
  if (http) {
    const path = String(http.path ?? '/');
    return {
      type: 'http',
      scheme: http.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP',
      ...(http.host ? { host: String(http.host) } : {}),
      port: resolvePort(c, http.port),
      path: path.startsWith('/') ? path : `/${path}`,
      headers: ((http.httpHeaders ?? []) as { name: string; value: string }[]).map((x) => ({
        name: x.name,
        value: x.value,
      })),
    };
  }
  const tcp = h.tcpSocket as Obj | undefined;
  if (tcp)
    return { type: 'tcp', ...(tcp.host ? { host: String(tcp.host) } : {}), port: resolvePort(c, tcp.port) };
  const grpc = h.grpc as Obj | undefined;
  if (grpc) return { type: 'grpc', port: Number(grpc.port), service: String(grpc.service ?? '') };
  const sleep = h.sleep as Obj | undefined;
  if (sleep) return { type: 'sleep', seconds: Number(sleep.seconds ?? 0) };
  return undefined;
}

const fieldOf: Record<ProbeKind, string> = {
  liveness: 'livenessProbe',
  readiness: 'readinessProbe',
  startup: 'startupProbe',
};

const int = (v: unknown, dflt: number, min: number) =>
  typeof v === 'number' && Number.isFinite(v) ? Math.max(min, Math.floor(v)) : dflt;

/** The container's probe of `kind` with its defaults, or undefined when it has none. */
export function probeOf(c: SpecContainer, kind: ProbeKind): ProbeSpec | undefined {
  const p = c?.[fieldOf[kind]] as Obj | undefined;
  if (!p) return undefined;
  const action = actionOf(c, p);
  if (!action || action.type === 'sleep') return undefined;
  const grace = p.terminationGracePeriodSeconds;
  return {
    action,
    initialDelaySeconds: int(p.initialDelaySeconds, 0, 0),
    periodSeconds: int(p.periodSeconds, 10, 1),
    timeoutSeconds: int(p.timeoutSeconds, 1, 1),
    // Liveness and startup probes must succeed once; Kubernetes' validation enforces it.
    successThreshold: kind === 'readiness' ? int(p.successThreshold, 1, 1) : 1,
    failureThreshold: int(p.failureThreshold, 3, 1),
    ...(typeof grace === 'number' ? { terminationGracePeriodSeconds: grace } : {}),
  };
}
