import type { Command } from 'commander';

/** Loads the image actions only when an image command runs. */
const actions = () => import('./image-actions.js');
const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * Image commands, as Docker names them: `import`, `images`, `tag`, `rmi`, `save`, `load`,
 * and the `image` group (`image ls|inspect|rm|prune|tag|import|save|load`).
 */
export function registerImage(program: Command): void {
  const defineImport = (c: Command) =>
    c
      .description('create an image from a root filesystem tarball (- for stdin)')
      .argument('<tarball>', 'a tar or tar.gz file, or - for stdin')
      .argument('[name]', 'NAME[:TAG] for the image')
      .option(
        '-c, --change <instruction>',
        'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL)',
        collect,
        [],
      )
      .option('-m, --message <text>', 'set the history comment')
      .action(async (tarball: string, name: string | undefined, opts, cmd: Command) =>
        (await actions()).importAction(cmd, tarball, name, opts),
      );
  const defineList = (c: Command) =>
    c
      .description('list images')
      .argument('[reference]', 'only images whose name matches')
      .option('-a, --all', 'show all images (accepted for Docker compatibility)')
      .option('-q, --quiet', 'only show image IDs')
      .option('--no-trunc', 'do not truncate IDs')
      .option('--digests', 'show digests')
      .option(
        '-f, --filter <key=value>',
        'dangling=true|false, label=KEY[=VALUE], reference=PATTERN, before=IMAGE, since=IMAGE (repeatable)',
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option('--format <format>', 'json, table (default), or a Go template such as {{.Repository}}:{{.Tag}}')
      .action(async (ref: string | undefined, opts, cmd: Command) =>
        (await actions()).listAction(cmd, ref, opts),
      );
  const defineHistory = (c: Command) =>
    c
      .description("show an image's layers and the steps that made them, newest first")
      .argument('<image>')
      .option('--no-trunc', 'do not truncate output')
      .option('-q, --quiet', 'only show image IDs')
      .option('-H, --human', 'accepted for Docker compatibility: sizes and dates are always human-readable')
      .option('--format <format>', 'json, or a Go template')
      .action(async (ref: string, opts, cmd: Command) => (await actions()).historyAction(cmd, ref, opts));
  const defineTag = (c: Command) =>
    c
      .description('create a name TARGET that refers to SOURCE')
      .argument('<source>', 'SOURCE_IMAGE[:TAG] or ID')
      .argument('<target>', 'TARGET_IMAGE[:TAG]')
      .action(async (source: string, target: string, _opts, cmd: Command) =>
        (await actions()).tagAction(cmd, source, target),
      );
  const defineRm = (c: Command) =>
    c
      .description('remove one or more images')
      .argument('<image...>', 'names or IDs')
      .option('-f, --force', 'untag images that containers use, and IDs with several names')
      .option('--no-prune', 'accepted for Docker compatibility')
      .action(async (images: string[], opts, cmd: Command) =>
        (await actions()).removeAction(cmd, images, opts),
      );
  const defineSave = (c: Command) =>
    c
      .description('save images to a tar archive (docker-archive, or OCI archive with --format oci-archive)')
      .argument('<image...>', 'names or IDs')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .option('--format <format>', 'docker-archive or oci-archive', 'docker-archive')
      .action(async (images: string[], opts, cmd: Command) =>
        (await actions()).saveAction(cmd, images, opts),
      );
  const defineLoad = (c: Command) =>
    c
      .description('load images from a docker-archive or OCI archive tarball')
      .option('-i, --input <file>', 'read from a file instead of stdin')
      .option('-q, --quiet', 'print only the loaded names')
      .action(async (opts, cmd: Command) => (await actions()).loadAction(cmd, opts));

  defineImport(program.command('import'));
  defineList(program.command('images'));
  defineTag(program.command('tag'));
  defineRm(program.command('rmi'));
  defineSave(program.command('save'));
  defineLoad(program.command('load'));
  defineHistory(program.command('history'));

  const image = program.command('image').description('manage images');
  defineList(image.command('ls').alias('list'));
  defineImport(image.command('import'));
  defineTag(image.command('tag'));
  defineRm(image.command('rm').alias('remove'));
  defineSave(image.command('save'));
  defineLoad(image.command('load'));
  defineHistory(image.command('history'));
  image
    .command('inspect')
    .description('show images in detail, as JSON')
    .argument('<image...>', 'names or IDs')
    .option('-f, --format <format>', 'a Go-template-like {{.Field}} path, or json')
    .action(async (images: string[], opts, cmd: Command) =>
      (await actions()).inspectAction(cmd, images, opts),
    );
  image
    .command('prune')
    .description('remove unused images')
    .option('-a, --all', 'remove all images no container uses, not only dangling ones')
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (opts, cmd: Command) => (await actions()).pruneAction(cmd, opts));
}
