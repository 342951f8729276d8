import type { Command } from 'commander';

const actions = () => import('./build-actions.js');
const collect = (v: string, prev: string[]) => [...prev, v];

/** `build` (and `image build`), and `builder prune`. */
export function registerBuild(program: Command): void {
  const define = (c: Command) =>
    c
      .description('build an image from a Dockerfile')
      .argument('<context>', 'the build context: a folder, a tar archive, or - for a tar on stdin')
      .option('-t, --tag <name>', 'NAME[:TAG] for the image (repeatable)', collect, [])
      .option('-f, --file <path>', 'the Dockerfile (default: CONTEXT/Dockerfile; - for stdin)')
      .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect, [])
      .option('--target <stage>', 'build this stage (and what it needs) only')
      .option('--no-cache', 'run every step, ignoring the layer cache')
      .option('--pull', 'always pull the base images')
      .option('--label <key=value>', "add a label to the image's config (repeatable)", collect, [])
      .option('--iidfile <file>', 'write the image ID to this file')
      .option('--network <mode>', 'network for RUN steps: bridge (default), none, host or a network name')
      .option(
        '--secret <spec>',
        'id=ID,src=FILE: a secret RUN --mount=type=secret can read (repeatable)',
        collect,
        [],
      )
      .option('--progress <mode>', 'auto, plain or tty (all print plain lines)', 'auto')
      .option('-q, --quiet', 'print only the image ID (the build output only on failure)')
      .action(async (context: string, opts, cmd: Command) =>
        (await actions()).buildAction(cmd, context, opts),
      );
  define(program.command('build'));
  const image = program.commands.find((c) => c.name() === 'image');
  if (image) define(image.command('build'));
  program
    .command('builder')
    .description('manage the build cache')
    .command('prune')
    .description('remove the build cache')
    .option('-a, --all', 'accepted for Docker compatibility (the whole cache is removed)')
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (_opts, cmd: Command) => (await actions()).builderPruneAction(cmd));
}
