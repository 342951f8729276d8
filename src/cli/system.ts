import type { Command } from 'commander';

type Actions = typeof import('./system-actions.js');
const act =
  <K extends keyof Actions>(name: K) =>
  async (...args: unknown[]) => {
    const mod = await import('./system-actions.js');
    await (mod[name] as (...a: unknown[]) => Promise<void>)(...args);
  };

/** `info`, `system info`, `system df`, `system prune`. */
export function registerSystem(program: Command): void {
  program
    .command('info')
    .description('show engine information')
    .option('-f, --format <format>', 'json')
    .action(act('infoAction'));
  const system = program.command('system').description('manage the engine');
  system
    .command('info')
    .description('show engine information')
    .option('-f, --format <format>', 'json')
    .action(act('infoAction'));
  system.command('df').description('show disk use').action(act('dfAction'));
  system
    .command('prune')
    .description('remove stopped containers (and unused volumes with --volumes)')
    .option('-a, --all', 'accepted for Docker compatibility')
    .option('-f, --force', 'do not ask (Berth never asks)')
    .option('--volumes', 'also prune unused anonymous volumes')
    .action(act('pruneAction'));
}
