/**
 * A pod's seccompProfile fields (Kubernetes' `validateSeccompProfileField`), at the pod and at
 * every container: the type is one of three, and a Localhost profile is a path below the node's
 * seccomp folder. The agent refuses such a path too, but a pod naming `../../etc/shadow` is
 * refused here first, with upstream's field path and message, instead of failing on its node.
 */

import { invalid, notSupported, required } from './field-errors.js';
import { arr, isObj, type Obj, obj } from './field-values.js';
import type { StatusCause } from './status.js';

const types = ['Localhost', 'RuntimeDefault', 'Unconfined'];

function validateProfile(profile: Obj, path: string, causes: StatusCause[]): void {
  const type = profile.type;
  const local = profile.localhostProfile;
  if (type === undefined || type === null || type === '') causes.push(required(`${path}.type`));
  else if (typeof type !== 'string' || !types.includes(type))
    causes.push(notSupported(`${path}.type`, type, types));
  if (type === 'Localhost') {
    if (local === undefined || local === null)
      causes.push(required(`${path}.localhostProfile`, 'must be set when seccomp type is Localhost'));
    else if (typeof local !== 'string' || local.startsWith('/'))
      causes.push(invalid(`${path}.localhostProfile`, local, 'must be a relative path'));
    else if (local.split('/').includes('..'))
      causes.push(invalid(`${path}.localhostProfile`, local, "must not contain '..'"));
  } else if (local !== undefined && local !== null) {
    causes.push(invalid(`${path}.localhostProfile`, local, 'can only be set when seccomp type is Localhost'));
  }
}

/** The seccompProfile of the pod spec at `path` and of each of its containers. */
export function validatePodSeccomp(spec: Obj, path: string, causes: StatusCause[]): void {
  const pod = obj(spec.securityContext).seccompProfile;
  if (isObj(pod)) validateProfile(pod, `${path}.securityContext.seccompProfile`, causes);
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'])
    arr(spec[list]).forEach((c, i) => {
      const p = obj(c.securityContext).seccompProfile;
      if (isObj(p)) validateProfile(p, `${path}.${list}[${i}].securityContext.seccompProfile`, causes);
    });
}
