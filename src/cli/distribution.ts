import type { Command } from 'commander';

const actions = () => import('./distribution-actions.js');

/** Registry commands: `pull`, `push`, `login`, `logout` (and `image pull|push`). */
export function registerDistribution(program: Command): void {
  const definePull = (c: Command) =>
    c
      .description('download an image from a registry')
      .argument('<reference>', 'NAME[:TAG] or NAME@DIGEST')
      .option('-q, --quiet', 'print only the image ID')
      .option('--platform <os/arch>', 'pick this platform from a multi-platform image')
      .option(
        '--tls-verify <bool>',
        'require HTTPS and verify certificates (default: true, false for loopback registries)',
      )
      .action(async (ref: string, opts, cmd: Command) => (await actions()).pullAction(cmd, ref, opts));
  const definePush = (c: Command) =>
    c
      .description('upload an image to a registry')
      .argument('<image>', 'the local image, NAME[:TAG] or ID')
      .argument('[destination]', 'where to push it, when not the image name')
      .option('-q, --quiet', 'print only the pushed digest')
      .option(
        '--tls-verify <bool>',
        'require HTTPS and verify certificates (default: true, false for loopback registries)',
      )
      .action(async (image: string, dest: string | undefined, opts, cmd: Command) =>
        (await actions()).pushAction(cmd, image, dest, opts),
      );
  definePull(program.command('pull'));
  definePush(program.command('push'));
  const image = program.commands.find((c) => c.name() === 'image');
  if (image) {
    definePull(image.command('pull'));
    definePush(image.command('push'));
  }
  program
    .command('login')
    .description('save credentials for a registry (in ~/.docker/config.json, or REGISTRY_AUTH_FILE)')
    .argument('[registry]', 'the registry host', 'docker.io')
    .option('-u, --username <name>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--tls-verify <bool>', 'require HTTPS and verify certificates')
    .action(async (registry: string, opts, cmd: Command) =>
      (await actions()).loginAction(cmd, registry, opts),
    );
  program
    .command('logout')
    .description('remove saved credentials for a registry')
    .argument('[registry]', 'the registry host', 'docker.io')
    .action(async (registry: string, _opts, cmd: Command) => (await actions()).logoutAction(cmd, registry));
}
