/** Docker's `network inspect` document (`GET /networks/{id}`), shared by every front end. */
import type { NetworkRecord, NetworkStore } from './network-store.js';

export function inspectNetwork(n: NetworkRecord, s: NetworkStore): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const a of s.attachmentsOf(n.name)) {
    containers[a.containerId] = {
      Name: a.containerId.slice(0, 12),
      EndpointID: '',
      MacAddress: a.mac,
      IPv4Address: a.ip ? `${a.ip}/${n.subnet.split('/')[1]}` : '',
      IPv6Address: '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: { 'com.docker.network.bridge.name': n.bridge },
    Labels: n.labels,
  };
}
