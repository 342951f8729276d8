import { BerthError } from '../../../core/errors.js';

/**
 * A volume that cannot be set up (a missing ConfigMap, a hostPath of the wrong type): the
 * pod's containers keep waiting in ContainerCreating with this message, and the agent tries
 * again, as the kubelet's volume manager does.
 */
export class VolumeError extends BerthError {
  constructor(message: string) {
    super('FailedPrecondition', message);
  }
}
