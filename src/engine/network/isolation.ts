import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/exec.js';

/**
 * Isolation between Berth's bridge networks, as Docker's DOCKER-ISOLATION chains do it: a
 * packet that enters from one Berth bridge and leaves through another is dropped, so a
 * container reaches only the networks it is attached to. Traffic within a bridge, to the host
 * (published ports, the embedded DNS server) and out through NAT is untouched.
 *
 * Two chains in the filter table, jumped to first from FORWARD:
 * - BERTH-ISOLATION-1 holds `-i BR ! -o BR -j BERTH-ISOLATION-2` per bridge: it left its bridge;
 * - BERTH-ISOLATION-2 holds `-o BR -j DROP` per bridge: ...for another Berth bridge.
 * One rule in each per network, so adding or removing a network never rewrites the others.
 * BERTH-ISOLATION-1 first lets through connections to published ports (DNAT'd by portmap):
 * a published port is open to the host and beyond, so hiding it from the next network would
 * protect nothing and break a container calling another network's service by the host's port.
 *
 * The jump must come before CNI-FORWARD, which the CNI firewall plugin inserts at the top of
 * FORWARD on its first ADD and which accepts everything a container sends; so it is checked
 * (and moved back to the top if needed) after every attach. The `iptables` command is the
 * one the CNI plugins run, so both use the same backend (legacy or nft).
 *
 * A network may forgo the firewall plugin (the pod network does: the plugin runs about ten
 * iptables commands per ADD and adds two rules per endpoint, and every command reads the
 * whole table). Its subnet then gets the same two rules once, for all its endpoints, in a
 * third chain jumped to right after the isolation chain, as flannel accepts its pod range:
 * BERTH-FORWARD holds `-s SUBNET -j ACCEPT` (what the endpoints send) and `-d SUBNET -m
 * conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` (the answers). They matter where
 * FORWARD's policy is DROP (Docker sets it); isolation still drops first.
 */

const CHAIN1 = 'BERTH-ISOLATION-1';
const CHAIN2 = 'BERTH-ISOLATION-2';
const CHAIN3 = 'BERTH-FORWARD';

// $1-$3 are the chain names, then the bridges, then "--" and the subnets to accept: each
// missing rule is added.
const ENSURE = `set -e
c1="$1"; c2="$2"; c3="$3"; shift 3
for c in "$c1" "$c2"; do iptables -w -n -L "$c" >/dev/null 2>&1 || iptables -w -N "$c"; done
iptables -w -C "$c1" -m conntrack --ctstate DNAT -j RETURN 2>/dev/null || iptables -w -I "$c1" 1 -m conntrack --ctstate DNAT -j RETURN
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  br="$1"; shift
  iptables -w -C "$c1" -i "$br" ! -o "$br" -j "$c2" 2>/dev/null || iptables -w -A "$c1" -i "$br" ! -o "$br" -j "$c2"
  iptables -w -C "$c2" -o "$br" -j DROP 2>/dev/null || iptables -w -A "$c2" -o "$br" -j DROP
done
[ $# -gt 0 ] && shift
if [ "$(iptables -w -S FORWARD 1)" != "-A FORWARD -j $c1" ]; then
  while iptables -w -D FORWARD -j "$c1" 2>/dev/null; do :; done
  iptables -w -I FORWARD 1 -j "$c1"
fi
if [ $# -gt 0 ]; then
  iptables -w -n -L "$c3" >/dev/null 2>&1 || iptables -w -N "$c3"
  for s in "$@"; do
    iptables -w -C "$c3" -s "$s" -j ACCEPT 2>/dev/null || iptables -w -A "$c3" -s "$s" -j ACCEPT
    iptables -w -C "$c3" -d "$s" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null ||
      iptables -w -A "$c3" -d "$s" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  done
  iptables -w -C FORWARD -j "$c3" 2>/dev/null || iptables -w -I FORWARD 2 -j "$c3"
fi`;

// $1-$3 are the chain names, $4 the bridge, $5 its network's subnet if it had the accept pair.
const REMOVE = `c1="$1"; c2="$2"; c3="$3"; br="$4"; s="$5"
while iptables -w -D "$c1" -i "$br" ! -o "$br" -j "$c2" 2>/dev/null; do :; done
while iptables -w -D "$c2" -o "$br" -j DROP 2>/dev/null; do :; done
if [ -n "$s" ]; then
  while iptables -w -D "$c3" -s "$s" -j ACCEPT 2>/dev/null; do :; done
  while iptables -w -D "$c3" -d "$s" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null; do :; done
fi
exit 0`;

/** A subnet's accept pair as `iptables -S` prints it. */
const forwardRules = (subnet: string) => [
  `-A ${CHAIN3} -s ${subnet} -j ACCEPT`,
  `-A ${CHAIN3} -d ${subnet} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
];

/**
 * Whether `rules` (the filter table as `iptables -S` prints it) already isolate every one of
 * `bridges`: the jump first in FORWARD, the published-port exception, and both per-bridge
 * rules; and accept every one of `subnets`: the jump to BERTH-FORWARD and both its rules.
 */
export function isolated(
  rules: string,
  bridges: readonly string[],
  subnets: readonly string[] = [],
): boolean {
  const lines = rules.split('\n');
  const have = new Set(lines);
  return (
    lines.find((l) => l.startsWith('-A FORWARD ')) === `-A FORWARD -j ${CHAIN1}` &&
    lines.find((l) => l.startsWith(`-A ${CHAIN1} `)) ===
      `-A ${CHAIN1} -m conntrack --ctstate DNAT -j RETURN` &&
    bridges.every(
      (br) =>
        have.has(`-A ${CHAIN1} -i ${br} ! -o ${br} -j ${CHAIN2}`) &&
        have.has(`-A ${CHAIN2} -o ${br} -j DROP`),
    ) &&
    (subnets.length === 0 ||
      (have.has(`-A FORWARD -j ${CHAIN3}`) &&
        subnets.every((s) => forwardRules(s).every((r) => have.has(r)))))
  );
}

/**
 * Makes sure each of `bridges` is isolated from the others, and each of `subnets` (those of
 * networks without the firewall plugin) accepted (idempotent). Callers pass every Berth
 * network's bridge, so networks whose containers started before these rules existed are
 * covered too. The usual case, nothing missing, costs one `iptables -S`; changes run under a
 * lock file in ROOT/networks, so parallel starts never both create the chains or the jump.
 */
export async function isolateBridges(
  root: string,
  bridges: readonly string[],
  subnets: readonly string[] = [],
): Promise<void> {
  if (!bridges.length) return;
  if (isolated((await run('iptables', ['-w', '-S'])).stdout, bridges, subnets)) return;
  const dir = join(root, 'networks');
  mkdirSync(dir, { recursive: true });
  await run('flock', [
    join(dir, 'iptables.lock'),
    ...['sh', '-c', ENSURE, 'sh', CHAIN1, CHAIN2, CHAIN3, ...bridges, '--', ...subnets],
  ]);
}

/**
 * Remembers the last set of bridges and subnets found isolated, for a long-lived caller that
 * attaches many endpoints (the node agent: one per pod). Reading the whole filter table after
 * every attach is needed where the attach ran the CNI firewall plugin, which puts its own
 * chain first in FORWARD on its first ADD; an attach that ran no firewall plugin (the pod
 * network's) changes no filter rule, and one that ran it in another process checks there.
 * Such attaches then skip the check while the set is the one last found isolated, for at most
 * `maxAgeMs`, so rules removed by hand come back within that time.
 */
export class IsolationCheck {
  private last = '';
  private at = 0;
  private running?: { key: string; done: Promise<void> };

  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly check: typeof isolateBridges;

  /**
   * @param opts.maxAgeMs how long a check holds (default a minute); `now` the clock (default
   * Date.now); `check` what checks and adds the rules (default {@link isolateBridges}).
   */
  constructor(opts: { maxAgeMs?: number; now?: () => number; check?: typeof isolateBridges } = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.check = opts.check ?? isolateBridges;
  }

  /**
   * {@link isolateBridges}, skipped when `firewallRan` is false and the same set held recently;
   * such attaches while a check of the same set runs wait for that one (the first pods of a
   * Deployment all find the rules missing at once).
   */
  async ensure(
    root: string,
    bridges: readonly string[],
    subnets: readonly string[],
    firewallRan: boolean,
  ): Promise<void> {
    const key = JSON.stringify([bridges, subnets]);
    if (!firewallRan) {
      if (key === this.last && this.now() - this.at < this.maxAgeMs) return;
      if (this.running?.key === key) return this.running.done;
    }
    this.last = '';
    const at = this.now();
    const done = this.check(root, bridges, subnets);
    this.running = { key, done };
    try {
      await done;
      this.last = key;
      this.at = at;
    } finally {
      if (this.running?.done === done) this.running = undefined;
    }
  }
}

/**
 * Removes a bridge's isolation rules, and its subnet's accept pair when given (network rm).
 * Safe when they are already gone.
 */
export async function unisolateBridge(bridge: string, subnet = ''): Promise<void> {
  await run('sh', ['-c', REMOVE, 'sh', CHAIN1, CHAIN2, CHAIN3, bridge, subnet]);
}

/**
 * Removes the chains and the jumps to them (a node's `--cleanup`), unless a bridge they name
 * still exists: another engine store on the machine may still need them. The next attach
 * makes them again.
 */
export async function removeIsolationChains(): Promise<boolean> {
  const listed = await run('iptables', ['-w', '-S', CHAIN1], { check: false });
  if (listed.code !== 0) return false;
  const bridges = [...listed.stdout.matchAll(/^-A \S+ -i (\S+) /gm)].map((m) => m[1]!);
  for (const br of bridges)
    if ((await run('ip', ['link', 'show', br], { check: false })).code === 0) return false;
  await run('sh', ['-c', REMOVE_ALL, 'sh', CHAIN1, CHAIN2, CHAIN3]);
  return true;
}

const REMOVE_ALL = `for c in "$1" "$3"; do while iptables -w -D FORWARD -j "$c" 2>/dev/null; do :; done; done
for c in "$@"; do iptables -w -F "$c" 2>/dev/null; done
for c in "$@"; do iptables -w -X "$c" 2>/dev/null; done
exit 0`;
