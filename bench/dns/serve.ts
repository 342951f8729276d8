/**
 * bench/dns's Berth side: the cluster DNS transport and resolver (what every node's agent
 * runs) over N Services `svc-I.default` with cluster IPs, listening on ADDRESS:PORT.
 * Prints `ready` once it listens. Usage: node --import tsx bench/dns/serve.ts ADDRESS PORT N
 */
import { fixedClusterIndex } from '../../src/cluster/dns/cluster-index.js';
import { clusterResolver } from '../../src/cluster/dns/resolver.js';
import { listenDns } from '../../src/engine/dns/transport.js';
import { benchServices } from './services.js';

const [address = '127.0.0.1', port = '5300', count = '1000'] = process.argv.slice(2);
const services = benchServices(Number(count)).map(({ name, ip }) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: 'default', name },
  spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
}));
// The Services never change here; the agent bumps its generation on each informer event.
const generation = () => 0;
await listenDns({
  address,
  port: Number(port),
  resolver: clusterResolver({ index: fixedClusterIndex(services, []), generation }),
  upstreams: () => [],
  generation,
});
console.log('ready');
