/**
 * Cells of the kinds whose Table columns take more than reading one field (Node, Service,
 * Endpoints, Job, Event), worded as upstream's printers word them.
 */
import { arr, type Obj, strings } from './field-values.js';
import { age, type Column, g } from './table-cells.js';

/** `Ready`, `NotReady` or `Unknown`, with `,SchedulingDisabled` for a cordoned node. */
export function nodeStatus(o: Obj): string {
  const ready = arr(g(o, 'status.conditions')).find((c) => c.type === 'Ready');
  const out = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (g(o, 'spec.unschedulable')) out.push('SchedulingDisabled');
  return out.join(',');
}

/** A node's first address of `type`, `<none>` without one. */
export function nodeAddress(o: Obj, type: string): string {
  return String(arr(g(o, 'status.addresses')).find((a) => a.type === type)?.address ?? '<none>');
}

/**
 * A Service's EXTERNAL-IP: its externalIPs; for a LoadBalancer also its ingress points,
 * `<pending>` before it has any; an ExternalName's name.
 */
export function serviceExternalIP(o: Obj): string {
  const external = strings(g(o, 'spec.externalIPs'));
  switch (g(o, 'spec.type') ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.join(',') || '<none>';
    case 'LoadBalancer': {
      const ingress = arr(g(o, 'status.loadBalancer.ingress')).map((i) => String(i.ip ?? i.hostname ?? ''));
      let lb = ingress.join(',');
      // Upstream cuts a long list outside -o wide; the server's Table is the wide one.
      if (lb.length > 16) lb = `${lb.slice(0, 13)}...`;
      const all = [...(lb ? lb.split(',') : []), ...external];
      return all.join(',') || '<pending>';
    }
    case 'ExternalName':
      return String(g(o, 'spec.externalName') ?? '');
    default:
      return '<unknown>';
  }
}

/** An Endpoints' `ip:port` list, port by port, cut at three (`+ N more...`); `<none>` without subsets. */
export function endpointsText(o: Obj): string {
  const subsets = arr(g(o, 'subsets'));
  if (!subsets.length) return '<none>';
  const all: string[] = [];
  for (const ss of subsets) {
    const addresses = arr(ss.addresses).map((a) => String(a.ip));
    const ports = arr(ss.ports);
    if (!ports.length) all.push(...addresses);
    for (const p of ports) for (const ip of addresses) all.push(`${ip}:${p.port}`);
  }
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

const hasCondition = (o: Obj, type: string) =>
  arr(g(o, 'status.conditions')).some((c) => c.type === type && c.status === 'True');

/** A Job's STATUS, in upstream's order of precedence. */
export function jobStatus(o: Obj): string {
  if (hasCondition(o, 'Complete')) return 'Complete';
  if (hasCondition(o, 'Failed')) return 'Failed';
  if (g(o, 'metadata.deletionTimestamp')) return 'Terminating';
  if (hasCondition(o, 'Suspended')) return 'Suspended';
  if (hasCondition(o, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(o, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** A Job's COMPLETIONS: `1/3`, or `0/1 of 4` for a work queue run by several pods. */
export function jobCompletions(o: Obj): string {
  const done = Number(g(o, 'status.succeeded') ?? 0);
  const completions = g(o, 'spec.completions');
  if (typeof completions === 'number') return `${done}/${completions}`;
  const parallelism = g(o, 'spec.parallelism');
  return typeof parallelism === 'number' && parallelism > 1 ? `${done}/1 of ${parallelism}` : `${done}/1`;
}

const firstSeen = (o: Obj) => age(g(o, 'firstTimestamp') ?? g(o, 'eventTime'));
const lastSeen = (o: Obj) =>
  g(o, 'series.lastObservedTime')
    ? age(g(o, 'series.lastObservedTime'))
    : g(o, 'lastTimestamp')
      ? age(g(o, 'lastTimestamp'))
      : firstSeen(o);

/** An event's SOURCE: `component, host`, or the reporting controller and instance of a new-style event. */
function eventSource(o: Obj): string {
  const component = String(g(o, 'source.component') ?? '');
  const host = String(g(o, 'source.host') ?? '');
  if (component || host) return host ? `${component}, ${host}` : component;
  const controller = String(g(o, 'reportingComponent') ?? '');
  const instance = String(g(o, 'reportingInstance') ?? '');
  return instance ? `${controller}, ${instance}` : controller;
}

/** `kubectl get events` and its `-o wide` columns. */
export const eventColumns: Column[] = [
  { name: 'Last Seen', type: 'string', cell: lastSeen },
  { name: 'Type', type: 'string', cell: (o) => g(o, 'type') ?? '' },
  { name: 'Reason', type: 'string', cell: (o) => g(o, 'reason') ?? '' },
  {
    name: 'Object',
    type: 'string',
    cell: (o) => {
      const kind = String(g(o, 'involvedObject.kind') ?? '').toLowerCase();
      const objName = g(o, 'involvedObject.name');
      return objName ? `${kind}/${objName}` : kind;
    },
  },
  { name: 'Subobject', type: 'string', priority: 1, cell: (o) => g(o, 'involvedObject.fieldPath') ?? '' },
  { name: 'Source', type: 'string', priority: 1, cell: eventSource },
  { name: 'Message', type: 'string', cell: (o) => String(g(o, 'message') ?? '').trim() },
  { name: 'First Seen', type: 'string', priority: 1, cell: firstSeen },
  {
    name: 'Count',
    type: 'string',
    priority: 1,
    cell: (o) => g(o, 'series.count') ?? (g(o, 'count') || 1),
  },
  { name: 'Name', type: 'string', priority: 1, cell: (o) => g(o, 'metadata.name') },
];
