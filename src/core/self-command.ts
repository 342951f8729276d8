/**
 * The argv that starts this same `berth` again (conmon's exit command, the DNS server).
 *
 * Node reads options from its own argv before running the script, and Node 20 scans the whole
 * argv for `--env-file`, script arguments included: `berth run --env-file F` would make Node
 * load F, and a NODE_OPTIONS=--require in it would run code in this process. Only a `--`
 * before the script ends Node's own options, so every Node that Berth starts gets one, as
 * bin/berth's shebang does.
 */
export function selfCommand(args: readonly string[]): string[] {
  const entry = process.env.BERTH_ENTRY || process.argv[1] || 'berth';
  return [process.execPath, '--', entry, ...args];
}
