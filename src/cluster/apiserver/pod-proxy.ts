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

/**
 * A proxy of one pod subresource (log, exec, attach, port-forward) to the agent of `node`, the
 * pod's (undefined when it has none or it is gone: the proxy answers why).
 */
export type PodProxy = (
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

/** The agent's path of a pod's container: `/KIND/NAMESPACE/POD/CONTAINER`. */
export function containerPath(kind: string, pod: KubeObject, container: string): string {
  const ns = encodeURIComponent(pod.metadata?.namespace as string);
  const name = encodeURIComponent(pod.metadata?.name as string);
  return `/${kind}/${ns}/${name}/${encodeURIComponent(container)}`;
}

/**
 * Rejects with the agent's error reply, once read, as a Status: 404 stays NotFound, anything
 * else is BadRequest.
 */
export function rejectWithAgentError(reply: IncomingMessage, reject: (e: ApiError) => void): void {
  const chunks: Buffer[] = [];
  reply.on('data', (c: Buffer) => chunks.push(c));
  reply.on('end', () => {
    const body = Buffer.concat(chunks).toString().trim();
    const notFound = reply.statusCode === 404;
    reject(new ApiError(notFound ? 404 : 400, notFound ? 'NotFound' : 'BadRequest', body));
  });
}

/** A 500 for an agent the API server could not connect to. */
export function agentUnreachable(node: KubeObject | undefined, e: Error): ApiError {
  return new ApiError(
    500,
    'InternalError',
    `Cannot reach the agent of node ${node?.metadata?.name}: ${e.message}`,
  );
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

/** `pods/NAME/log`, from the agent's `/containerLogs` path. */
export function podLogProxy(agent: https.Agent): PodProxy {
  return async (pod, node, q, req, res) => {
    const container = requestedContainer(pod, q);
    const waiting = waitingLogProblem(pod, container, q.get('previous') === 'true');
    if (waiting) throw new ApiError(400, 'BadRequest', waiting);
    const params = new URLSearchParams();
    for (const k of logParams) if (q.get(k)) params.set(k, q.get(k) as string);
    const path = `${containerPath('containerLogs', pod, container)}?${params}`;
    const target = agentTarget(pod, node, agent, path);
    await new Promise<void>((resolve, reject) => {
      const up = https.request({ ...target, method: 'GET' }, (upRes) => {
        if (upRes.statusCode !== 200) return rejectWithAgentError(upRes, reject);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
        upRes.pipe(res);
        upRes.on('end', () => resolve());
        upRes.on('error', () => resolve());
      });
      req.on('close', () => up.destroy());
      up.on('error', (e) => (res.headersSent ? resolve() : reject(agentUnreachable(node, e))));
      up.end();
    });
  };
}
