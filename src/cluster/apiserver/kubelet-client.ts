/**
 * How the API server reaches a node's agent endpoint (logs, exec, attach, port-forward,
 * metrics), as kube-apiserver's kubelet client does: the node's InternalIP and
 * `daemonEndpoints.kubeletEndpoint.Port`; the API server's own client certificate
 * (`system:kube-apiserver-kubelet-client`), made once per process; and TLS that verifies the
 * agent's serving certificate: signed by the cluster CA, naming the address dialled, and
 * issued to that node (`system:node:NAME`, which the kubelet-serving signer requires), so one
 * node cannot answer for another even at an address it took over.
 */
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
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

/** The HTTPS agent every connection to nodes' agents uses: the API server's client certificate, the cluster CA. */
export function kubeletAgent(creds: Pick<ClusterCredentials, 'caCert' | 'caKey'>): https.Agent {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = signClientCertificate(
    creds,
    'system:kube-apiserver-kubelet-client',
    'kubeadm:cluster-admins',
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  const key = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return new https.Agent({ ca: creds.caCert, cert, key, keepAlive: true });
}

/** Why `cert` is not the serving certificate of node `name` at `host`, or undefined if it is. */
export function servingIdentityError(name: string, host: string, cert: PeerCertificate): Error | undefined {
  const wrongName = checkServerIdentity(host, cert);
  if (wrongName) return wrongName;
  const cn = cert.subject?.CN;
  if (cn !== `system:node:${name}`)
    return new Error(
      `the serving certificate at ${host} is issued to "${cn}", not to node ${name} ("system:node:${name}")`,
    );
  return undefined;
}

/** Request options for `path` on a node's agent at `at`, verifying the node's serving certificate. */
export function kubeletRequest(
  node: KubeObject,
  at: { host: string; port: number },
  agent: https.Agent,
  path: string,
): https.RequestOptions {
  const name = String(node.metadata?.name ?? '');
  return {
    host: at.host,
    port: at.port,
    path,
    agent,
    // The node's name as SNI also keys the agent's pool of kept-alive connections: a
    // connection verified for one node is never reused for another at the same address.
    // (A name that is an IP address cannot be SNI; the address check stands alone then.)
    ...(isIP(name) ? {} : { servername: name }),
    checkServerIdentity: (_host, cert) => servingIdentityError(name, at.host, cert),
  };
}

/** A JSON GET against nodes' agent endpoints, authenticated both ways. */
export function kubeletJsonClient(agent: https.Agent): KubeletGet {
  return (node, path, timeoutMs = 10_000) => {
    const name = String(node.metadata?.name ?? '');
    const at = kubeletAddress(node);
    if (!at) return Promise.reject(new Error(`node ${name} reports no agent endpoint`));
    return new Promise((resolve, reject) => {
      const req = https.request({ ...kubeletRequest(node, at, agent, path), timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200)
            return reject(new Error(`node ${name} answered ${path} with ${res.statusCode}: ${text.trim()}`));
          try {
            resolve(JSON.parse(text));
          } catch (e) {
            reject(new Error(`node ${name} answered ${path} with bad JSON: ${(e as Error).message}`));
          }
        });
      });
      req.on('timeout', () =>
        req.destroy(new Error(`node ${name} did not answer ${path} in ${timeoutMs / 1000}s`)),
      );
      req.on('error', reject);
      req.end();
    });
  };
}
