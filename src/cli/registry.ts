import type { Command } from 'commander';
import { registerContainer } from './container.js';
import { registerDistribution } from './distribution.js';
import { registerImage } from './image.js';
import { registerInternal } from './internal.js';
import { registerNetwork } from './network.js';
import { registerSecretsEncrypt } from './secrets-encrypt.js';
import { registerServer } from './server.js';
import { registerSim } from './sim.js';
import { registerSystem } from './system.js';
import { registerVersion } from './version.js';
import { registerVolume } from './volume.js';

/**
 * Every command group registers itself here, one line each. Registration only declares
 * flags; each action imports its implementation when it runs, so `berth --help` does not
 * load the engine or the cluster code.
 */
export function registerCommands(program: Command): void {
  registerContainer(program);
  registerImage(program);
  registerDistribution(program);
  registerNetwork(program);
  registerVolume(program);
  registerSystem(program);
  registerVersion(program);
  registerServer(program);
  registerSecretsEncrypt(program);
  registerSim(program);
  registerInternal(program);
}
