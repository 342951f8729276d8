import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerBuild } from './build.js';
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
 * Every command group registers itself here, one line each, in the order `berth --help`
 * lists them (the most used first: registration for one command stops after its group).
 * Groups on one line go together: distribution adds `pull` and `push` to the `image` command
 * that the image group declares. A group may leave out what the command `name` (when given)
 * cannot reach. Registration only declares flags; each action imports its
 * implementation when it runs, so `berth --help` does not load the engine or the cluster code.
 */
const groups: ReadonlyArray<ReadonlyArray<(program: Command, name?: string) => void>> = [
  [registerContainer],
  [registerImage, registerDistribution, registerBuild],
  [registerNetwork],
  [registerVolume],
  [registerSystem],
  [registerVersion],
  [registerServer, registerAgent],
  [registerSecretsEncrypt],
  [registerSim],
  [registerInternal],
];

/** Registers every command. */
export function registerCommands(program: Command): void {
  for (const group of groups) for (const register of group) register(program);
}

/**
 * Registers the groups up to the one that declares `name` (a command or an alias), or all of
 * them when no group does. Declaring the hundreds of options of every group is a good part of
 * the CLI's start-up, and a command needs only its own group; help, unknown names (which
 * get suggestions) and a missing command still see every command.
 */
export function registerCommandsFor(program: Command, name: string | undefined): void {
  for (const group of groups) {
    for (const register of group) register(program, name);
    if (name !== undefined && program.commands.some((c) => c.name() === name || c.aliases().includes(name)))
      return;
  }
}

/**
 * The command name in `argv` (arguments after `berth`): the first argument that is neither
 * one of `program`'s own options nor an option's value. Undefined when there is none, or when
 * an option of `program` that ends parsing (help, version) or an unknown option comes first.
 */
export function commandName(program: Command, argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') return arg;
    const flag = arg.startsWith('--') ? arg.split('=', 1)[0]! : arg.slice(0, 2);
    const option = program.options.find((o) => o.long === flag || o.short === flag);
    if (option === undefined || option.long === '--version' || option.long === '--help') return undefined;
    // `--root DIR` takes the next argument; `--root=DIR` and `-rDIR` carry their value.
    const inline = arg.startsWith('--') ? arg.includes('=') : arg.length > 2;
    if ((option.required || option.optional) && !inline) i++;
  }
  return undefined;
}
