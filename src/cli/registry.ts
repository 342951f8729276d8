import type { Command } from 'commander';
import { registerImage } from './image.js';
import { registerServer } from './server.js';
import { registerVersion } from './version.js';

/**
 * Every command group registers itself here, one line each. Registration only declares
 * flags; each action imports its implementation when it runs, so `berth --help` does not
 * load the engine or the cluster code.
 */
export function registerCommands(program: Command): void {
  registerImage(program);
  registerVersion(program);
  registerServer(program);
}
