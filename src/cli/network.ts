import type { Command } from 'commander';

const actions = () => import('./network-actions.js');
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `berth network create|ls|inspect|rm|connect|disconnect|prune`, with Docker's flags. */
export function registerNetwork(program: Command): void {
  const net = program.command('network').description('manage networks');
  net
    .command('create')
    .description('create a bridge network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'network driver (bridge)', 'bridge')
    .option('--subnet <cidr>', 'subnet, e.g. 10.90.0.0/24 (default: the first free 10.89.N.0/24)')
    .option('--gateway <ip>', 'gateway address (default: the first address of the subnet)')
    .option('--internal', 'no outbound connectivity')
    .option('--label <key=value>', 'set a label (repeatable)', collect)
    .action(async (name: string, opts, cmd: Command) => (await actions()).createAction(cmd, name, opts));
  net
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'only IDs')
    .option('--format <format>', 'json, table (default), or a Go template such as {{.Name}}')
    .option('--no-trunc', 'do not truncate IDs')
    .action(async (opts, cmd: Command) => (await actions()).listAction(cmd, opts));
  net
    .command('inspect')
    .description('show networks in detail, as JSON')
    .argument('<network...>')
    .option('-f, --format <format>', 'a {{.Field}} template')
    .action(async (names: string[], opts, cmd: Command) => (await actions()).inspectAction(cmd, names, opts));
  net
    .command('rm')
    .alias('remove')
    .description('remove networks')
    .argument('<network...>')
    .action(async (names: string[], _opts, cmd: Command) => (await actions()).removeAction(cmd, names));
  net
    .command('connect')
    .description('connect a container to a network (at once if it runs, and at every start)')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <ip>', 'fixed address on that network')
    .option('--alias <name>', 'extra name on that network (repeatable)', collect)
    .action(async (network: string, container: string, opts, cmd: Command) =>
      (await actions()).connectAction(cmd, network, container, opts),
    );
  net
    .command('disconnect')
    .description('disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'no error if it is not connected')
    .action(async (network: string, container: string, opts, cmd: Command) =>
      (await actions()).disconnectAction(cmd, network, container, opts),
    );
  net
    .command('prune')
    .description('remove networks no container uses')
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (_opts, cmd: Command) => (await actions()).pruneAction(cmd));
}
