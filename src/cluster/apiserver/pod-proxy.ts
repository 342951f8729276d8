/**
 * `pods/NAME/log`: the API server finds the pod's node and streams the log from that node's
 * agent endpoint (its InternalIP and `daemonEndpoints.kubeletEndpoint.Port`), over TLS that
 * checks the node's serving certificate against the cluster CA and presents the API server's
 * own client certificate (`system:kube-apiserver-kubelet-client`).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';
import { type ClusterCredentials, signClientCertificate } from './tls.js';

export type PodLogProxy = (
  pod: KubeObject,
  node: KubeObject | undefined,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
) => Promise<void>;

export function podLogProxy(creds: ClusterCredentials): PodLogProxy {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = signClientCertificate(
    creds,
    'system:kube-apiserver-kubelet-client',
    'kubeadm:cluster-admins',
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  const agent = new https.Agent({ ca: creds.caCert, cert, key, keepAlive: true });
  return async (pod, node, q, req, res) => {
    const ns = pod.metadata?.namespace as string;
    const name = pod.metadata?.name as string;
    const containers = ((pod.spec as { containers?: { name: string }[] })?.containers ?? []).map(
      (c) => c.name,
    );
    const container = q.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container)
      throw new ApiError(
        400,
        'BadRequest',
        `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
      );
    if (
      !containers.includes(container) &&
      !((pod.spec as { initContainers?: { name: string }[] })?.initContainers ?? []).some(
        (c) => c.name === container,
      )
    )
      throw new ApiError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    const st = node?.status as
      | {
          addresses?: { type: string; address: string }[];
          daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
        }
      | undefined;
    const ip = st?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = st?.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!node || !ip || !port)
      throw new ApiError(400, 'BadRequest', `pod ${name} is not running on a node with an agent endpoint`);
    const params = new URLSearchParams();
    for (const k of ['follow', 'tailLines', 'previous']) if (q.get(k)) params.set(k, q.get(k) as string);
    const path = `/containerLogs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`;
    await new Promise<void>((resolve, reject) => {
      const up = https.request(
        {
          host: ip,
          port,
          path,
          method: 'GET',
          agent,
          servername: (node.metadata?.name as string) ?? ip,
          checkServerIdentity: () => undefined,
        },
        (upRes) => {
          if (upRes.statusCode !== 200) {
            const chunks: Buffer[] = [];
            upRes.on('data', (c: Buffer) => chunks.push(c));
            upRes.on('end', () =>
              reject(
                new ApiError(
                  upRes.statusCode === 404 ? 404 : 400,
                  upRes.statusCode === 404 ? 'NotFound' : 'BadRequest',
                  Buffer.concat(chunks).toString().trim(),
                ),
              ),
            );
            return;
          }
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
          upRes.pipe(res);
          upRes.on('end', () => resolve());
          upRes.on('error', () => resolve());
        },
      );
      req.on('close', () => up.destroy());
      up.on('error', (e) =>
        res.headersSent
          ? resolve()
          : reject(
              new ApiError(
                500,
                'InternalError',
                `Cannot reach the agent of node ${node.metadata?.name}: ${e.message}`,
              ),
            ),
      );
      up.end();
    });
  };
}
