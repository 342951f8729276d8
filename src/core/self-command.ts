/**
 * The argv that starts this same `berth` again (conmon's exit command, the DNS server).
 *
 * Node reads options from its own argv before running the script, and Node 20 scans the whole
 * argv for `--env-file`, script arguments included: `berth run --env-file F` would make Node
 * load F, and a NODE_OPTIONS=--require in it would run code in this process. Only a `--`
 * before the script ends Node's own options, so every Node that Berth starts gets one, as
 * bin/berth's shebang does.
 *
 * Node 20 also parses the NODE_EXTRA_CA_CERTS file as it starts (30-40 ms for a system bundle):
 * as bin/berth's shebang does, the command moves it aside for Node's start, and bin/berth puts
 * it back, so an exit command or monitor started for every container does not pay for it.
 */
export function selfCommand(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const entry = env.BERTH_ENTRY || process.argv[1] || 'berth';
  const node = [process.execPath, '--', entry, ...args];
  const extraCa = env.NODE_EXTRA_CA_CERTS;
  if (!extraCa) return node;
  return ['/usr/bin/env', '-u', 'NODE_EXTRA_CA_CERTS', `BERTH_NODE_EXTRA_CA_CERTS=${extraCa}`, ...node];
}
