/**
 * The events a kubelet records on its Node, which `kubectl describe node` lists: `Starting
 * kubelet.` when it starts, `Node n1 status is now: NodeReady` (NodeHasSufficientMemory,
 * NodeHasNoDiskPressure, ...) when a condition first appears or changes, and
 * NodeNotSchedulable / NodeSchedulable when the node is cordoned or uncordoned.
 */
import type { EventRecorder } from '../client/events.js';
import type { KubeObject } from '../client/kube-client.js';

interface Condition {
  type: string;
  status: string;
}

/** Upstream's event reason for a condition's status (nodestatus setters). */
const reasons: Record<string, [onTrue: string, otherwise: string]> = {
  MemoryPressure: ['NodeHasInsufficientMemory', 'NodeHasSufficientMemory'],
  DiskPressure: ['NodeHasDiskPressure', 'NodeHasNoDiskPressure'],
  PIDPressure: ['NodeHasInsufficientPID', 'NodeHasSufficientPID'],
  Ready: ['NodeReady', 'NodeNotReady'],
};

export class NodeEvents {
  private readonly ref: KubeObject;
  private schedulable: boolean | undefined;
  private last: Condition[] | undefined;

  constructor(
    private readonly recorder: EventRecorder,
    private readonly nodeName: string,
  ) {
    // The kubelet's node reference uses the node's name as its uid.
    this.ref = { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, uid: nodeName } };
  }

  private record(reason: string, message = `Node ${this.nodeName} status is now: ${reason}`): void {
    this.recorder.record(this.ref, 'Normal', reason, message);
  }

  started(): void {
    this.record('Starting', 'Starting kubelet.');
  }

  /**
   * After a status write: one event per condition that appeared or changed status since the
   * last write (the first compares with what the Node held before this agent started).
   */
  conditions(written: Condition[], before?: Condition[]): void {
    const last = this.last ?? before ?? [];
    for (const c of written) {
      const names = reasons[c.type];
      if (!names || last.find((b) => b.type === c.type)?.status === c.status) continue;
      this.record(c.status === 'True' ? names[0] : names[1]);
    }
    this.last = written.map(({ type, status }) => ({ type, status }));
  }

  /** On each look at the Node: a cordon or an uncordon since the last one. */
  spec(node: KubeObject | undefined): void {
    if (!node) return;
    const schedulable = !node.spec?.unschedulable;
    if (this.schedulable !== undefined && schedulable !== this.schedulable)
      this.record(schedulable ? 'NodeSchedulable' : 'NodeNotSchedulable');
    this.schedulable = schedulable;
  }
}
