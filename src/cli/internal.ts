import type { Command } from 'commander';

/** `berth internal ...`: helper processes Berth starts for itself (hidden from --help). */
export function registerInternal(program: Command): void {
  const internal = program
    .command('internal', { hidden: true })
    .description('processes Berth starts for itself');
  internal
    .command('dns-server')
    .description('the embedded DNS server for user networks (started on demand)')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { root: string; runroot: string };
      const { runDnsServer } = await import('../engine/dns/server.js');
      const { dnsPidFile, dnsReadyDir, dnsWakeFile } = await import('../engine/dns/ensure.js');
      await runDnsServer({
        root: g.root,
        pidFile: dnsPidFile(g.runroot),
        readyDir: dnsReadyDir(g.runroot),
        wakeFile: dnsWakeFile(g.runroot),
      });
    });
  internal
    .command('healthcheck <id>')
    .description("a container's health check monitor (started with the container)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { withEngine } = await import('./engine.js');
      await withEngine(cmd, (engine) => engine.containers.monitorHealth(id));
    });
  internal
    .command('log-rotate <id>')
    .description("a container's log rotation monitor (started with it when max-file is above 1)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { withEngine } = await import('./engine.js');
      await withEngine(cmd, (engine) => engine.containers.monitorLogRotation(id));
    });
}
