/**
 * ControllerRevisions (apps/v1), the template history of StatefulSets and DaemonSets that
 * `kubectl rollout history` lists and `kubectl rollout undo` applies: each revision's data is
 * a strategic merge patch that puts its pod template back (`$patch: replace`), its name is
 * `<owner>-<template hash>`, and a template seen before (a rollback) reuses its revision
 * with the next number instead of making a new one.
 */
import { isAlreadyExists } from '../../core/errors.js';
import { controllerRefOf } from '../client/controller-ref.js';
import type { KubeObject } from '../client/kube-client.js';
import { templateHash } from './deployment.js';

export const HASH_LABEL = 'controller.kubernetes.io/hash';

export interface HistoryActions {
  createRevision(ns: string, rev: KubeObject): Promise<unknown>;
  updateRevision(rev: KubeObject): Promise<unknown>;
  deleteRevision(ns: string, name: string): Promise<unknown>;
}

/** The revision data of a template, as upstream stores it for StatefulSets and DaemonSets. */
export function revisionData(template: unknown): object {
  return { spec: { template: { ...(template as object), $patch: 'replace' } } };
}

/**
 * Ensures a revision for the owner's current template exists and is the newest; returns its
 * name (the `controller-revision-hash` of pods made from it). Old revisions beyond `keep`
 * that no live pod uses are deleted.
 */
export async function ensureRevision(
  owner: KubeObject,
  kind: 'StatefulSet' | 'DaemonSet',
  revisions: KubeObject[],
  inUse: Set<string>,
  act: HistoryActions,
): Promise<string> {
  const ns = owner.metadata.namespace!;
  const template = owner.spec?.template ?? {};
  const hash = templateHash(template);
  const name = `${owner.metadata.name}-${hash}`;
  const max = Math.max(0, ...revisions.map((r) => Number(r.revision ?? 0)));
  const existing = revisions.find((r) => r.metadata.name === name);
  if (!existing) {
    await act
      .createRevision(ns, {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(owner.spec?.selector?.matchLabels ?? {}), [HASH_LABEL]: hash },
          ownerReferences: [controllerRefOf(owner, 'apps/v1', kind)],
        },
        data: revisionData(template),
        revision: max + 1,
      })
      // Made by an earlier pass the cache has not shown yet.
      .catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
  } else if (Number(existing.revision ?? 0) < max) {
    await act.updateRevision({ ...existing, revision: max + 1 });
  }
  const keep = owner.spec?.revisionHistoryLimit ?? 10;
  const old = revisions
    .filter((r) => r.metadata.name !== name && !inUse.has(r.metadata.name!))
    .sort((a, b) => Number(a.revision ?? 0) - Number(b.revision ?? 0));
  for (const r of old.slice(0, Math.max(0, old.length - keep)))
    await act.deleteRevision(ns, r.metadata.name!);
  return name;
}
