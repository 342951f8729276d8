/**
 * How the API server calls a node's agent endpoint for data (metrics today): the node's
 * InternalIP and `daemonEndpoints.kubeletEndpoint.Port`, TLS that checks the node's serving
 * certificate against the cluster CA (the chain, not the name), and the API server's own
 * client certificate (`system:kube-apiserver-kubelet-client`), made once per process.
 */
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import type { KubeObject } from '../api/selectors.js';
import { type ClusterCredentials, signClientCertificate } from './tls.js';

export type KubeletGet = (node: KubeObject, path: string, timeoutMs?: number) => Promise<unknown>;

/** The agent endpoint of a node, or undefined when it reports none. */
export function kubeletAddress(node: KubeObject): { host: string; port: number } | undefined {
  const st = node.status as
    | {
        addresses?: { type: string; address: string }[];
        daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
      }
    | undefined;
  const host = st?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const port = st?.daemonEndpoints?.kubeletEndpoint?.Port;
  return host && port ? { host, port } : undefined;
}

/** A JSON GET against nodes' agent endpoints, authenticated both ways. */
export function kubeletJsonClient(creds: ClusterCredentials): KubeletGet {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = signClientCertificate(
    creds,
    'system:kube-apiserver-kubelet-client',
    'kubeadm:cluster-admins',
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  const key = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const agent = new https.Agent({ ca: creds.caCert, cert, key, keepAlive: true });
  return (node, path, timeoutMs = 10_000) => {
    const name = String(node.metadata?.name ?? '');
    const at = kubeletAddress(node);
    if (!at) return Promise.reject(new Error(`node ${name} reports no agent endpoint`));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: at.host,
          port: at.port,
          path,
          agent,
          servername: name || at.host,
          checkServerIdentity: () => undefined,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200)
              return reject(
                new Error(`node ${name} answered ${path} with ${res.statusCode}: ${text.trim()}`),
              );
            try {
              resolve(JSON.parse(text));
            } catch (e) {
              reject(new Error(`node ${name} answered ${path} with bad JSON: ${(e as Error).message}`));
            }
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`node ${name} did not answer ${path} in ${timeoutMs / 1000}s`)),
      );
      req.on('error', reject);
      req.end();
    });
  };
}
