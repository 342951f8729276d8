/** Docker's `network inspect` document (`GET /networks/{id}`), shared by every front end. */
import { createHash } from 'node:crypto';
import type { NetworkRecord, NetworkStore } from './network-store.js';

/** Docker's networks that need no bridge: a container's own stack, or the host's. */
export const PREDEFINED = ['host', 'none'] as const;

/** A predefined network's ID: the same on every call, so that it can be looked up by it. */
export function predefinedId(name: (typeof PREDEFINED)[number]): string {
  return createHash('sha256').update(`berth predefined network ${name}`).digest('hex');
}

/**
 * The document of `host` or `none` (drivers `host` and `null`, as dockerd's), listing the
 * containers `members` (ID and name) that use it.
 */
export function inspectPredefined(
  name: (typeof PREDEFINED)[number],
  members: readonly { id: string; name: string }[],
): Record<string, unknown> {
  return {
    ...common(),
    Name: name,
    Id: predefinedId(name),
    Created: '0001-01-01T00:00:00Z',
    Driver: name === 'host' ? 'host' : 'null',
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Containers: Object.fromEntries(
      members.map((m) => [
        m.id,
        { Name: m.name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' },
      ]),
    ),
    Options: {},
    Labels: {},
  };
}

/** What every network document has the same. */
function common() {
  return {
    Scope: 'local',
    EnableIPv6: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
  };
}

/** A bridge network's document; `nameOf` gives its containers' names (their IDs when it does not know one). */
export function inspectNetwork(
  n: NetworkRecord,
  s: NetworkStore,
  nameOf: (containerId: string) => string | undefined = () => undefined,
): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const a of s.attachmentsOf(n.name)) {
    containers[a.containerId] = {
      Name: nameOf(a.containerId) ?? a.containerId.slice(0, 12),
      EndpointID: '',
      MacAddress: a.mac,
      IPv4Address: a.ip ? `${a.ip}/${n.subnet.split('/')[1]}` : '',
      IPv6Address: '',
    };
  }
  return {
    ...common(),
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Driver: n.driver,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Containers: containers,
    Options: { 'com.docker.network.bridge.name': n.bridge },
    Labels: n.labels,
  };
}
