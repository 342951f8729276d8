/** Kubeconfigs: the cluster's CA and server URL, and one user's client certificate (and token). */
import { stringify } from 'yaml';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig with one cluster, one user and one context for them. */
export function userKubeconfigYaml(
  server: string,
  caCert: string,
  user: { name: string; cert: string; key: string; token?: string },
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'berth', cluster: { server, 'certificate-authority-data': b64(caCert) } }],
    users: [
      {
        name: user.name,
        user: {
          'client-certificate-data': b64(user.cert),
          'client-key-data': b64(user.key),
          ...(user.token ? { token: user.token } : {}),
        },
      },
    ],
    contexts: [{ name: 'berth', context: { cluster: 'berth', user: user.name } }],
    'current-context': 'berth',
    preferences: {},
  });
}

/** The admin kubeconfig (a system:masters certificate and the admin token). */
export function kubeconfigYaml(
  server: string,
  creds: { caCert: string; adminCert: string; adminKey: string; adminToken: string },
): string {
  return userKubeconfigYaml(server, creds.caCert, {
    name: 'admin',
    cert: creds.adminCert,
    key: creds.adminKey,
    token: creds.adminToken,
  });
}
