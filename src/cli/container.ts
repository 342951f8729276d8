import { type Command, Option } from 'commander';

const collect = (v: string, prev: string[] = []) => [...prev, v];

type Actions = typeof import('./container-actions.js');
const act =
  <K extends keyof Actions>(name: K) =>
  async (...args: unknown[]) => {
    const mod = await import('./container-actions.js');
    await (mod[name] as (...a: unknown[]) => Promise<void>)(...args);
  };

/** The flags `create` and `run` share (Docker's names). */
function createFlags(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('--name <name>', 'assign a name to the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect)
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid (and group) to run as')
    .option('--entrypoint <cmd>', "override the image's entrypoint")
    .option('-h, --hostname <name>', 'container host name')
    .option('-l, --label <key=value>', 'set a label (repeatable)', collect)
    .option('-v, --volume <spec>', 'bind mount HOST:CTR[:ro] or volume NAME:CTR (repeatable)', collect)
    .option('--tmpfs <path[:opts]>', 'mount a tmpfs (repeatable)', collect)
    .option(
      '--mount <spec>',
      'type=bind|volume|tmpfs,source=...,target=...[,readonly][,bind-propagation=...][,volume-nocopy][,tmpfs-size=...][,tmpfs-mode=...] (repeatable)',
      collect,
    )
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('-m, --memory <bytes>', 'memory limit (e.g. 64m, 1g)')
    .option('--cpus <n>', 'number of CPUs (e.g. 0.5)')
    .option('--pids-limit <n>', 'process count limit (-1 for none)')
    .option('--cpu-shares <n>', 'relative CPU weight (cgroup cpu.shares)')
    .option('--cpu-quota <us>', 'CFS quota in microseconds per period')
    .option('--cpu-period <us>', 'CFS period in microseconds (100000)')
    .option('--cgroup-parent <path>', "the cgroup the container's cgroup is made under")
    .option('--group-add <group>', 'an additional group, by name or number (repeatable)', collect)
    .option('--ipc <mode>', 'IPC namespace: private (default), host, or ns:PATH')
    .option('--pid <mode>', 'PID namespace: private (default), host, or ns:PATH')
    .option('--uts <mode>', 'UTS namespace: private (default), host, or ns:PATH')
    .option('--shm-size <bytes>', 'size of /dev/shm (64m)')
    .option('--sysctl <key=value>', 'a namespaced kernel parameter (repeatable)', collect)
    .option('--ulimit <name=soft[:hard]>', 'a resource limit, such as nofile=1024:2048 (repeatable)', collect)
    .option('--restart <policy>', 'no, always, unless-stopped, on-failure[:N]')
    .option('--init', 'run an init (catatonit) as PID 1 that reaps zombies and forwards signals')
    .option('--cap-add <cap>', 'add a Linux capability (repeatable)', collect)
    .option('--cap-drop <cap>', 'drop a Linux capability (repeatable)', collect)
    .option('--privileged', 'give the container all capabilities, no seccomp, no masked paths')
    .option(
      '--security-opt <opt>',
      'no-new-privileges, seccomp=unconfined or seccomp=PROFILE.json (repeatable)',
      collect,
    )
    .option('--network <mode>', 'bridge (default), a network name, none, host, or container:NAME')
    .option(
      '-p, --publish <spec>',
      'publish a port: [ip:][hostPort:]containerPort[/udp] (repeatable)',
      collect,
    )
    .option('-P, --publish-all', 'publish every exposed port on a random host port')
    .option('--ip <address>', 'fixed IPv4 address on the network')
    .option('--mac-address <mac>', 'fixed MAC address')
    .option('--dns <ip>', 'DNS server for the container (repeatable)', collect)
    .option('--add-host <name:ip>', 'add a line to /etc/hosts (repeatable)', collect)
    .option('--network-alias <name>', 'another name on a user network (repeatable)', collect)
    .addOption(new Option('--net <mode>').hideHelp())
    .option('--runtime <name>', 'OCI runtime: runc, crun or a path (default: detected)')
    .option('--stop-timeout <seconds>', 'seconds to wait for stop before SIGKILL')
    .option('--device <host[:ctr][:rwm]>', 'add a host device to the container (repeatable)', collect)
    .option(
      '--log-driver <driver>',
      'k8s-file (default), json-file (written as k8s-file, as podman does) or none',
    )
    .option('--log-opt <key=value>', 'log driver option, such as max-size=10m (repeatable)', collect)
    .option('--cgroupns <mode>', 'cgroup namespace: host (default) or private')
    .option('--health-cmd <command>', 'command to run to check health (through /bin/sh -c)')
    .option('--health-interval <duration>', 'time between running the check (default 30s)')
    .option('--health-timeout <duration>', 'longest time one check may run (default 30s)')
    .option('--health-retries <n>', 'consecutive failures needed to report unhealthy (default 3)')
    .option('--health-start-period <duration>', 'start period during which failures do not count')
    .option('--no-healthcheck', "disable the image's HEALTHCHECK")
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--rootfs', 'the first argument is a root filesystem folder, not an image')
    .option('--pull <policy>', 'pull the image: always, missing (default) or never')
    .passThroughOptions();
}

/**
 * Container commands: create, start, run, ps, logs, exec, attach, stop, kill, ... at the top
 * level and again under `container` (`berth container ls`, `container inspect`), as in Docker.
 * When the command line names one of the top-level ones (`name`, see src/cli/registry.ts),
 * only that one is declared: declaring the rest (create's and run's sixty options each, the
 * copies under `container`) was most of the group's cost, and `berth run` never uses them.
 */
export function registerContainer(program: Command, name?: string): void {
  if (name !== undefined) {
    defineContainerCommands(program, name);
    if (program.commands.some((c) => c.name() === name || c.aliases().includes(name))) return;
  }
  defineContainerCommands(program);
  const container = program
    .command('container')
    .description('manage containers (the same commands as at the top level)')
    .enablePositionalOptions();
  defineContainerCommands(container);
  container
    .command('cleanup', { hidden: true })
    .description("record a container's exit (conmon's exit command)")
    .argument('<id>')
    .action(act('cleanupAction'));
}

/** Declares the container commands on `program`: all of them, or only the one named `only`. */
function defineContainerCommands(program: Command, only?: string): void {
  const wanted = (...names: string[]) => only === undefined || names.includes(only);
  if (wanted('create'))
    createFlags(
      program
        .command('create')
        .description('create a container')
        .argument('<image>')
        .argument('[command...]'),
    ).action(act('createAction'));
  if (wanted('run'))
    createFlags(
      program
        .command('run')
        .description('create and start a container')
        .argument('<image>')
        .argument('[command...]')
        .option('-d, --detach', 'run in the background and print the container ID')
        .option('--rm', 'remove the container when it exits'),
    ).action(act('runAction'));
  if (wanted('start'))
    program
      .command('start')
      .description('start stopped containers')
      .argument('<container...>')
      .option('-a, --attach', 'attach and wait for the (single) container')
      .option('-i, --interactive', 'attach stdin')
      .action(act('startAction'));
  if (wanted('ps', 'ls'))
    program
      .command('ps')
      .alias('ls')
      .description('list containers')
      .option('-a, --all', 'show all containers (default: running only)')
      .option('-q, --quiet', 'only IDs')
      .option(
        '-f, --filter <key=value>',
        'id, name, status, label, ancestor, exited, network, volume, health, before, since (repeatable)',
        collect,
      )
      .option('--no-trunc', 'do not truncate output')
      .option('--format <format>', 'json, or a Go template such as {{.Names}}')
      .action(act('psAction'));
  if (wanted('logs'))
    program
      .command('logs')
      .description("print a container's output")
      .argument('<container>')
      .option('-f, --follow', 'follow the output')
      .option('--tail <n>', 'lines from the end (all)')
      .option('-t, --timestamps', 'show timestamps')
      .option('--since <time>', 'since a time (RFC 3339, unix seconds, or a duration like 10m)')
      .action(act('logsAction'));
  if (wanted('exec'))
    program
      .command('exec')
      .description('run a command in a running container')
      .argument('<container>')
      .argument('<command...>')
      .option('-i, --interactive', 'keep stdin open')
      .option('-t, --tty', 'allocate a pseudo-TTY')
      .option('-d, --detach', 'run in the background')
      .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect)
      .option('-u, --user <user[:group]>', 'user to run as')
      .option('-w, --workdir <dir>', 'working directory')
      .passThroughOptions()
      .action(act('execAction'));
  if (wanted('attach'))
    program
      .command('attach')
      .description("attach to a running container's output (and input)")
      .argument('<container>')
      .option('--no-stdin', 'do not attach stdin')
      .action(act('attachAction'));
  if (wanted('stop'))
    program
      .command('stop')
      .description('stop containers (stop signal, then SIGKILL after the timeout)')
      .argument('<container...>')
      .option('-t, --time <seconds>', 'seconds to wait before SIGKILL')
      .action(act('stopAction'));
  if (wanted('kill'))
    program
      .command('kill')
      .description('send a signal to containers')
      .argument('<container...>')
      .option('-s, --signal <signal>', 'signal to send', 'SIGKILL')
      .action(act('killAction'));
  if (wanted('restart'))
    program
      .command('restart')
      .description('restart containers')
      .argument('<container...>')
      .option('-t, --time <seconds>', 'seconds to wait before SIGKILL')
      .action(act('restartAction'));
  if (wanted('rm'))
    program
      .command('rm')
      .description('remove containers')
      .argument('<container...>')
      .option('-f, --force', 'kill and remove running containers')
      .option('-v, --volumes', 'remove anonymous volumes too')
      .action(act('rmAction'));
  if (wanted('inspect'))
    program
      .command('inspect')
      .description('show containers (at the top level also images, networks, volumes) in Docker JSON form')
      .argument('<name...>')
      .option('-f, --format <format>', 'json (default) or a Go template such as {{.State.Status}}')
      .option('--type <type>', 'container, image, network or volume (top level only)')
      .action(act('inspectAction'));
  if (wanted('wait'))
    program
      .command('wait')
      .description('wait for containers to stop; print exit codes')
      .argument('<container...>')
      .action(act('waitAction'));
  if (wanted('top'))
    program
      .command('top')
      .description("list a container's processes (ps options as with ps; default -ef)")
      .argument('<container>')
      .argument('[ps-options...]')
      .passThroughOptions()
      .action(act('topAction'));
  if (wanted('stats'))
    program
      .command('stats')
      .description('resource use of running containers')
      .argument('[container...]')
      .option('--no-stream', 'print once and exit')
      .option(
        '--format <format>',
        'json, or a Go template such as {{.Name}} {{.CPUPerc}} (table TEMPLATE for titles)',
      )
      .option('-a, --all', 'include stopped containers')
      .action(act('statsAction'));
  for (const [name, what] of [
    ['pause', 'freeze every process of containers'],
    ['unpause', 'thaw paused containers'],
  ] as const)
    if (wanted(name))
      program
        .command(name)
        .description(what)
        .argument('<container...>')
        .action(act(`${name}Action`));
  if (wanted('update'))
    program
      .command('update')
      .description("change containers' resource limits and restart policy")
      .argument('<container...>')
      .option('-m, --memory <bytes>', 'memory limit (512m, 1g)')
      .option('--cpus <n>', 'CPU limit')
      .option('--pids-limit <n>', 'process count limit (-1 for none)')
      .option('--restart <policy>', 'no, always, unless-stopped or on-failure[:N]')
      .action(act('updateAction'));
  if (wanted('export'))
    program
      .command('export')
      .description("write a container's filesystem as a tar archive")
      .argument('<container>')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .action(act('exportAction'));
  if (wanted('port'))
    program
      .command('port')
      .description("list a container's published ports, or the host addresses of one")
      .argument('<container>')
      .argument('[private-port]', 'PORT[/PROTOCOL]')
      .action(act('portAction'));
  if (wanted('rename'))
    program
      .command('rename')
      .description('rename a container')
      .argument('<container>')
      .argument('<new-name>')
      .action(act('renameAction'));
  if (wanted('commit'))
    program
      .command('commit')
      .description("create an image from a container's changes")
      .argument('<container>')
      .argument('[repository[:tag]]')
      .option('-a, --author <author>', 'author (e.g. "Jane Doe <jane@example.com>")')
      .option('-m, --message <message>', 'commit message')
      .option(
        '-c, --change <instruction>',
        'apply a Dockerfile instruction (CMD, ENV, ...) (repeatable)',
        collect,
      )
      .option('-p, --pause', 'pause the container while committing', true)
      .option('--no-pause', 'do not pause the container while committing')
      .action(act('commitAction'));
  if (wanted('diff'))
    program
      .command('diff')
      .description('list the files a container added (A), changed (C) or deleted (D)')
      .argument('<container>')
      .action(act('diffAction'));
  if (wanted('cp'))
    program
      .command('cp')
      .description(
        'copy files between a container and the host (CONTAINER:PATH; - is a tar stream on stdin or stdout)',
      )
      .argument('<src>')
      .argument('<dest>')
      .option('-L, --follow-link', 'always follow a symlink in SRC_PATH')
      .option('-a, --archive', "keep the source's owners (otherwise root in the container, you on the host)")
      .action(act('cpAction'));
}
