import type { Command } from 'commander';

type Actions = typeof import('./system-actions.js');
const act =
  <K extends keyof Actions>(name: K) =>
  async (...args: unknown[]) => {
    const mod = await import('./system-actions.js');
    await (mod[name] as (...a: unknown[]) => Promise<void>)(...args);
  };

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `info`, `events`, `system info`, `system df`, `system prune`, `system events`, `system service`. */
export function registerSystem(program: Command): void {
  const defineEvents = (c: Command) =>
    c
      .description('show engine events (and follow new ones unless --until is given)')
      .option('--since <time>', 'events since a time (RFC 3339, unix seconds, or a duration like 10m)')
      .option('--until <time>', 'events before a time; stop there')
      .option(
        '-f, --filter <key=value>',
        'type, event, container, image, volume, network, label (repeatable)',
        collect,
      )
      .option('--format <format>', 'json, or a Go template such as {{.Action}}')
      .action(act('eventsAction'));
  defineEvents(program.command('events'));
  program
    .command('info')
    .description('show engine information')
    .option('-f, --format <format>', 'json, or a Go template such as {{.Driver}}')
    .action(act('infoAction'));
  const system = program.command('system').description('manage the engine');
  system
    .command('info')
    .description('show engine information')
    .option('-f, --format <format>', 'json, or a Go template such as {{.Driver}}')
    .action(act('infoAction'));
  system.command('df').description('show disk use').action(act('dfAction'));
  system
    .command('prune')
    .description(
      'remove stopped containers, unused networks, dangling images (and unused volumes with --volumes)',
    )
    .option('-a, --all', 'remove every unused image, not only dangling ones')
    .option('-f, --force', 'do not ask (Berth never asks)')
    .option('--volumes', 'also prune unused anonymous volumes')
    .action(act('pruneAction'));
  defineEvents(system.command('events'));
  system
    .command('service [uri]')
    .description('serve the Docker Engine API (default unix:///run/berth/docker.sock) until stopped')
    .option('-t, --time <seconds>', 'end after this many seconds without requests (0: never)', '0')
    .option(
      '--tlsverify',
      'serve tcp://HOST:PORT over TLS, accepting only clients with a certificate from --tlscacert',
    )
    .option('--tlscacert <file>', 'the CA (PEM) that signs the certificates of clients allowed in')
    .option('--tlscert <file>', "the service's certificate (PEM)")
    .option('--tlskey <file>', "the service's private key (PEM)")
    .action(async (...args: unknown[]) => {
      const mod = await import('./service-actions.js');
      await (mod.serviceAction as (...a: unknown[]) => Promise<void>)(...args);
    });
}
