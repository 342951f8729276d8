/**
 * `pods/NAME/log`: the API server finds the pod's node and streams the log from that node's
 * agent endpoint through kubelet-client.ts (the node's address, its serving certificate
 * verified, the API server's client certificate). The same connection settings serve exec,
 * attach and port-forward (pod-stream-proxy.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';
import { kubeletAddress, kubeletRequest } from './kubelet-client.js';

export type PodLogProxy = (
  pod: KubeObject,
  node: KubeObject | undefined,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
) => Promise<void>;

/** The log options kubectl sends that the agent understands (the kubelet's PodLogOptions). */
const logParams = [
  'follow',
  'tailLines',
  'previous',
  'sinceSeconds',
  'sinceTime',
  'timestamps',
  'limitBytes',
];

/**
 * The container a request names (`container`), or the pod's only one; a 400 naming the
 * choices otherwise, as the API server answers.
 */
export function requestedContainer(pod: KubeObject, q: URLSearchParams): string {
  const name = pod.metadata?.name as string;
  const spec = pod.spec as
    | {
        containers?: { name: string }[];
        initContainers?: { name: string }[];
        ephemeralContainers?: { name: string }[];
      }
    | undefined;
  const containers = (spec?.containers ?? []).map((c) => c.name);
  const container = q.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container)
    throw new ApiError(
      400,
      'BadRequest',
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
    );
  const others = [...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])];
  if (!containers.includes(container) && !others.some((c) => c.name === container))
    throw new ApiError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
  return container;
}

/** Where the pod's node agent listens, as request options for `https.request`. */
export function agentTarget(
  pod: KubeObject,
  node: KubeObject | undefined,
  agent: https.Agent,
  path: string,
): https.RequestOptions {
  // Say which node is out of reach: a bare 404 would read as if the pod were missing.
  const pname = pod.metadata?.name;
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!nodeName) throw new ApiError(400, 'BadRequest', `pod ${pname} does not have a host assigned`);
  if (!node)
    throw new ApiError(
      503,
      'ServiceUnavailable',
      `node "${nodeName}" of pod ${pname} cannot be reached: the node no longer exists`,
    );
  const at = kubeletAddress(node);
  if (!at)
    throw new ApiError(
      503,
      'ServiceUnavailable',
      `node "${nodeName}" of pod ${pname} cannot be reached: it reports no agent endpoint`,
    );
  return kubeletRequest(node, at, agent, path);
}

/** The agent's error reply as a Status: 404 stays NotFound, anything else is BadRequest. */
export function agentError(status: number | undefined, body: string): ApiError {
  return new ApiError(status === 404 ? 404 : 400, status === 404 ? 'NotFound' : 'BadRequest', body.trim());
}

/**
 * The kubelet's answer for the log of a container that has not run yet, from the pod's
 * status: `container "c" in pod "p" is waiting to start: trying and failing to pull image`
 * (400). Undefined when it has run, or its status does not say.
 */
export function waitingLogProblem(pod: KubeObject, container: string, previous: boolean): string | undefined {
  if (previous) return undefined;
  const status = (pod.status ?? {}) as Record<
    string,
    | {
        name: string;
        state?: Record<string, { reason?: string }>;
        lastState?: { terminated?: { containerID?: string } };
      }[]
    | undefined
  >;
  const cs = [
    ...(status.containerStatuses ?? []),
    ...(status.initContainerStatuses ?? []),
    ...(status.ephemeralContainerStatuses ?? []),
  ].find((c) => c.name === container);
  const waiting = cs?.state?.waiting;
  if (!waiting || cs?.lastState?.terminated?.containerID) return undefined;
  const why =
    waiting.reason === 'ErrImagePull'
      ? "image can't be pulled"
      : waiting.reason === 'ImagePullBackOff'
        ? 'trying and failing to pull image'
        : waiting.reason;
  const at = `container "${container}" in pod "${pod.metadata?.name}" is waiting to start`;
  return why ? `${at}: ${why}` : `${at} - no logs yet`;
}

export function podLogProxy(agent: https.Agent): PodLogProxy {
  return async (pod, node, q, req, res) => {
    const ns = pod.metadata?.namespace as string;
    const name = pod.metadata?.name as string;
    const container = requestedContainer(pod, q);
    const waiting = waitingLogProblem(pod, container, q.get('previous') === 'true');
    if (waiting) throw new ApiError(400, 'BadRequest', waiting);
    const params = new URLSearchParams();
    for (const k of logParams) if (q.get(k)) params.set(k, q.get(k) as string);
    const path = `/containerLogs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`;
    const target = agentTarget(pod, node, agent, path);
    await new Promise<void>((resolve, reject) => {
      const up = https.request({ ...target, method: 'GET' }, (upRes) => {
        if (upRes.statusCode !== 200) {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () => reject(agentError(upRes.statusCode, Buffer.concat(chunks).toString())));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
        upRes.pipe(res);
        upRes.on('end', () => resolve());
        upRes.on('error', () => resolve());
      });
      req.on('close', () => up.destroy());
      up.on('error', (e) =>
        res.headersSent
          ? resolve()
          : reject(
              new ApiError(
                500,
                'InternalError',
                `Cannot reach the agent of node ${node?.metadata?.name}: ${e.message}`,
              ),
            ),
      );
      up.end();
    });
  };
}
