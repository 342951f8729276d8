import type { Command } from 'commander';

declare const BERTH_VERSION: string;

/** `berth version`: the client's version and platform, as `docker version` prints them. */
export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('show version information')
    .option('-f, --format <format>', 'json, or a Go template such as {{.Version}}')
    .action(async (opts: { format?: string }) => {
      const info = {
        Version: typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'dev',
        NodeVersion: process.version,
        Os: process.platform,
        Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      };
      if (opts.format === 'json' || opts.format === '{{json .}}') {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      if (opts.format) {
        // Loaded here only: every command registers `version`, few render a template.
        const { renderTemplate } = await import('./go-template.js');
        process.stdout.write(`${renderTemplate(opts.format, info)}\n`);
        return;
      }
      process.stdout.write(
        `Berth:\n Version:      ${info.Version}\n Node version: ${info.NodeVersion}\n OS/Arch:      ${info.Os}/${info.Arch}\n`,
      );
    });
}
