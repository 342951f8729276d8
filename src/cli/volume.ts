import type { Command } from 'commander';

const collect = (v: string, prev: string[] = []) => [...prev, v];

type Actions = typeof import('./volume-actions.js');
const act =
  <K extends keyof Actions>(name: K) =>
  async (...args: unknown[]) => {
    const mod = await import('./volume-actions.js');
    await (mod[name] as (...a: unknown[]) => Promise<void>)(...args);
  };

/** `volume create/ls/inspect/rm/prune`. */
export function registerVolume(program: Command): void {
  const volume = program.command('volume').description('manage named volumes');
  volume
    .command('create')
    .description('create a volume')
    .argument('[name]')
    .option('-l, --label <key=value>', 'set a label (repeatable)', collect)
    .action(act('volumeCreate'));
  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('-q, --quiet', 'only names')
    .option('--format <format>', 'json, table (default), or a Go template such as {{.Name}}')
    .action(act('volumeLs'));
  volume
    .command('inspect')
    .description('show volumes as JSON')
    .argument('<name...>')
    .action(act('volumeInspect'));
  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes')
    .argument('<name...>')
    .option('-f, --force', 'remove even if in use')
    .action(act('volumeRm'));
  volume
    .command('prune')
    .description('remove unused anonymous volumes (all unused with --all)')
    .option('-a, --all', 'also unused named volumes')
    .option('-f, --force', 'do not ask (Berth never asks)')
    .action(act('volumePrune'));
}
