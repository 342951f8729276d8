/**
 * Pod validation rules about containers beyond their names and images (Kubernetes'
 * `validateEphemeralContainers`, `ValidatePodEphemeralContainersUpdate` and
 * `validateMountPropagation`), with upstream's field paths and messages: what an ephemeral
 * container may set, that the ephemeralcontainers subresource only adds them, and which
 * containers may ask for Bidirectional mount propagation.
 */

import { forbidden, notSupported, required } from './field-errors.js';
import { arr, type Obj, obj } from './field-values.js';
import type { StatusCause } from './status.js';

/** Container fields an ephemeral container may set (upstream's allow list, in its order). */
const ephemeralAllowed = new Set([
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'env',
  'envFrom',
  'volumeMounts',
  'volumeDevices',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
  // Not container fields: the ephemeral container's own.
  'targetContainerName',
]);

/** Whether a field holds something (upstream forbids non-zero values, not the key itself). */
const isSet = (v: unknown) =>
  v !== undefined &&
  v !== null &&
  v !== '' &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as Obj).length === 0);

const propagationModes = ['Bidirectional', 'HostToContainer', 'None'];

/** mountPropagation of every volumeMount: a known mode, Bidirectional only when privileged. */
function validateMountPropagation(c: Obj, path: string, causes: StatusCause[]): void {
  const privileged = obj(c.securityContext).privileged === true;
  arr(c.volumeMounts).forEach((m, i) => {
    const mode = m.mountPropagation;
    if (mode === undefined || mode === null) return;
    const field = `${path}.volumeMounts[${i}].mountPropagation`;
    if (typeof mode !== 'string' || !propagationModes.includes(mode))
      causes.push(notSupported(field, mode, propagationModes));
    else if (mode === 'Bidirectional' && !privileged)
      causes.push(
        forbidden(field, 'Bidirectional mount propagation is available only to privileged containers'),
      );
  });
}

/** The container rules of a pod spec at `path` (`spec`, `spec.template.spec`). */
export function validatePodContainers(spec: Obj, path: string, causes: StatusCause[]): void {
  for (const list of ['containers', 'initContainers', 'ephemeralContainers'])
    for (const [i, c] of arr(spec[list]).entries())
      validateMountPropagation(c, `${path}.${list}[${i}]`, causes);
  const others = new Set(
    [...arr(spec.containers), ...arr(spec.initContainers)].map((c) => String(c.name ?? '')),
  );
  const names = new Set(others);
  arr(spec.ephemeralContainers).forEach((ec, i) => {
    const p = `${path}.ephemeralContainers[${i}]`;
    const name = String(ec.name ?? '');
    if (!name) causes.push(required(`${p}.name`));
    else if (names.has(name))
      causes.push({
        field: `${p}.name`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: "${name}"`,
      });
    names.add(name);
    if (!ec.image) causes.push(required(`${p}.image`));
    const target = ec.targetContainerName;
    if (typeof target === 'string' && target !== '' && !others.has(target))
      causes.push({
        field: `${p}.targetContainerName`,
        reason: 'FieldValueNotFound',
        message: `Not found: "${target}"`,
      });
    for (const [k, v] of Object.entries(ec))
      if (!ephemeralAllowed.has(k) && isSet(v))
        causes.push(forbidden(`${p}.${k}`, 'cannot be set for an Ephemeral Container'));
    arr(ec.volumeMounts).forEach((m, j) => {
      for (const k of ['subPath', 'subPathExpr'])
        if (isSet(m[k]))
          causes.push(forbidden(`${p}.volumeMounts[${j}].${k}`, 'cannot be set for an Ephemeral Container'));
    });
  });
}

/** A pod created with ephemeral containers: upstream allows them only through the subresource. */
export function validatePodCreate(spec: Obj): StatusCause[] {
  return arr(spec.ephemeralContainers).length
    ? [forbidden('spec.ephemeralContainers', 'cannot be set on create')]
    : [];
}

/**
 * An update through `pods/NAME/ephemeralcontainers`: existing ephemeral containers stay as
 * they were (by name, since a patch does not keep the order); new ones may be added.
 */
export function validateEphemeralContainersUpdate(next: Obj, old: Obj): StatusCause[] {
  const causes: StatusCause[] = [];
  const now = new Map(arr(next.ephemeralContainers).map((c) => [String(c.name ?? ''), c]));
  for (const c of arr(old.ephemeralContainers)) {
    const name = String(c.name ?? '');
    const cur = now.get(name);
    if (!cur)
      causes.push(
        forbidden('spec.ephemeralContainers', `existing ephemeral containers "${name}" may not be removed\n`),
      );
    else if (canonical(cur) !== canonical(c))
      causes.push(
        forbidden(
          `spec.ephemeralContainers[${name}]`,
          `existing ephemeral containers "${name}" may not be changed\n`,
        ),
      );
  }
  return causes;
}

/** JSON with sorted keys, so a re-ordered object compares equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}
