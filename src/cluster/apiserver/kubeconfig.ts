/** The admin kubeconfig: the cluster's CA, the server URL, and the admin client certificate and token. */
import { stringify } from 'yaml';

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigYaml(
  server: string,
  creds: { caCert: string; adminCert: string; adminKey: string; adminToken: string },
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'berth', cluster: { server, 'certificate-authority-data': b64(creds.caCert) } }],
    users: [
      {
        name: 'admin',
        user: {
          'client-certificate-data': b64(creds.adminCert),
          'client-key-data': b64(creds.adminKey),
          token: creds.adminToken,
        },
      },
    ],
    contexts: [{ name: 'berth', context: { cluster: 'berth', user: 'admin' } }],
    'current-context': 'berth',
    preferences: {},
  });
}
