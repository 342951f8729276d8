import { Command, CommanderError } from 'commander';
import { errorCode, errorMessage } from '../core/errors.js';
import { type LogLevel, setLogLevel } from '../core/log.js';
import { exitCodeFor } from './exit-code.js';
import { commandName, registerCommands, registerCommandsFor } from './registry.js';

declare const BERTH_VERSION: string;

/**
 * Builds the command tree: all of it, or given the arguments, the part that parsing them needs
 * (src/cli/registry.ts). Command actions load their code lazily, so --help stays fast.
 */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command('berth')
    .description(
      'A container engine (Docker/Podman-compatible) and a Kubernetes-compatible orchestrator in one tool.',
    )
    .version(typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'dev', '-v, --version', 'print the version')
    .option('--root <dir>', 'engine state folder', process.env.BERTH_ROOT ?? '/var/lib/berth')
    .option('--runroot <dir>', 'engine runtime state folder', process.env.BERTH_RUNROOT ?? '/run/berth')
    .option('--log-level <level>', 'debug, info, warn or error', process.env.BERTH_LOG_LEVEL ?? 'warn')
    // Global options go before the command, as in Podman; everything after a command name
    // belongs to that command, so `berth run IMG sh -c x` passes `-c` to the container.
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      '\nState: --root and --runroot (or BERTH_ROOT, BERTH_RUNROOT) keep separate stores.\nRun "berth COMMAND --help" for a command\'s options.',
    );
  program.hook('preAction', (cmd) => {
    const level = cmd.opts().logLevel as string;
    if (['debug', 'info', 'warn', 'error'].includes(level)) setLogLevel(level as LogLevel);
  });
  program.exitOverride();
  if (argv === undefined) registerCommands(program);
  else registerCommandsFor(program, commandName(program, argv));
  return program;
}

/** Runs the CLI and sets the process exit code; never prints a stack trace for a known error. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed help, the version, or its own usage message already.
      // Docker answers bad usage with 125, and so do we; help and version are successes.
      process.exitCode = err.exitCode === 0 ? 0 : 125;
      return;
    }
    const code = errorCode(err);
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    if (code === 'Internal' && process.env.BERTH_DEBUG && err instanceof Error && err.stack) {
      process.stderr.write(`${err.stack}\n`);
    }
    process.exitCode = exitCodeFor(err);
  }
}

// `berth ... | head` closes the pipe early; that is not an error worth a stack trace, and
// there is no one left to read the rest, so the command ends here. Work it leaves unfinished
// is finished by others: a `run --rm` container by conmon's exit command once this process is
// gone (src/engine/container/run.ts).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

// A command is done when Node has nothing left to do; it ends here instead of letting Node
// tear down, whose teardown would close the engine's database, and closing the last
// connection checkpoints the store with fsyncs that every command would wait for (see
// withEngine in src/cli/engine.ts).
process.once('beforeExit', () => process.exit());

void main(process.argv.slice(2));
