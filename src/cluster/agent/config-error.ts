import { BerthError } from '../../core/errors.js';

/** A container's config cannot be made (a missing ConfigMap key...): CreateContainerConfigError. */
export class ConfigError extends BerthError {
  constructor(message: string) {
    super('InvalidArgument', message);
  }
}
