/**
 * The routing state as the controller's thread sends it to its helper processes after each
 * rebuild (structured clone over IPC): the route table, the endpoints of every backend it
 * names, and the certificate bindings. A helper serves from a SnapshotRouter, which answers
 * the proxy exactly as the thread's state would.
 */
import type { SecureContext } from 'node:tls';
import { backendKey, type Endpoint, type Pool, RoundRobin } from './backends.js';
import type { CertBindings, CertStore } from './certs.js';
import type { IngressRouter } from './proxy.js';
import { type BackendRef, type Route, RouteTable, type RouteTableData } from './routes.js';

export interface IngressSnapshot {
  /** Counts up with each rebuild: a helper acknowledges the version it serves. */
  version: number;
  routes: RouteTableData;
  /** By backendKey(): the ready endpoints, or why the Service has none. */
  pools: Map<string, { endpoints: readonly Endpoint[]; missing?: string }>;
  /** Left out when unchanged since the snapshot a helper had before. */
  certs?: CertBindings;
}

/** The snapshot of a table: every backend it names resolved by `pool`. */
export function takeSnapshot(
  version: number,
  table: RouteTable,
  pool: (b: BackendRef) => Pool,
  certs: CertBindings,
): IngressSnapshot {
  const pools: IngressSnapshot['pools'] = new Map();
  for (const b of table.backends()) {
    const k = backendKey(b);
    if (pools.has(k)) continue;
    const p = pool(b);
    pools.set(k, p.missing ? { endpoints: p.endpoints, missing: p.missing } : { endpoints: p.endpoints });
  }
  return { version, routes: table.data(), pools, certs };
}

const noPool = new RoundRobin([]);

/** A helper's router: the last snapshot applied. */
export class SnapshotRouter implements IngressRouter {
  private table = new RouteTable(new Map(), new Map(), [], undefined);
  private pools = new Map<string, Pool>();

  constructor(private readonly certs: CertStore) {}

  /** Serves `s` from now on; says which certificates did not load (their names get the default). */
  apply(s: IngressSnapshot): string[] {
    this.table = RouteTable.from(s.routes);
    const pools = new Map<string, Pool>();
    for (const [k, p] of s.pools) pools.set(k, new RoundRobin(p.endpoints, p.missing));
    this.pools = pools;
    return s.certs ? this.certs.bind(s.certs) : [];
  }

  match(host: string | undefined, url: string | undefined): Route | undefined {
    return this.table.match(host, url);
  }

  pool(b: BackendRef): Pool {
    return this.pools.get(backendKey(b)) ?? noPool;
  }

  contextFor(servername: string | undefined): SecureContext {
    return this.certs.contextFor(servername);
  }
}
