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
 *
 * The jump must come before CNI-FORWARD, which the CNI firewall plugin inserts at the top of
 * FORWARD on its first ADD and which accepts everything a container sends; so it is checked
 * (and moved back to the top if needed) after every attach. The `iptables` command is the
 * one the CNI plugins run, so both use the same backend (legacy or nft).
 */

const CHAIN1 = 'BERTH-ISOLATION-1';
const CHAIN2 = 'BERTH-ISOLATION-2';

// $1 is the chain-1 name, $2 chain 2, then the bridges. The fast path reads the two chains
// and the top of FORWARD once (three iptables runs however many networks there are) and
// stops when every rule is in place; otherwise each missing rule is added.
const ENSURE = `set -e
c1="$1"; c2="$2"; shift 2
l1=$(iptables -w -S "$c1" 2>/dev/null) || l1=
l2=$(iptables -w -S "$c2" 2>/dev/null) || l2=
ok=1
[ "$(iptables -w -S FORWARD 1)" = "-A FORWARD -j $c1" ] || ok=0
for br in "$@"; do
  case "$l1" in *"-A $c1 -i $br ! -o $br -j $c2"*) ;; *) ok=0 ;; esac
  case "$l2" in *"-A $c2 -o $br -j DROP"*) ;; *) ok=0 ;; esac
done
[ $ok = 0 ] || exit 0
for c in "$c1" "$c2"; do iptables -w -n -L "$c" >/dev/null 2>&1 || iptables -w -N "$c"; done
for br in "$@"; do
  iptables -w -C "$c1" -i "$br" ! -o "$br" -j "$c2" 2>/dev/null || iptables -w -A "$c1" -i "$br" ! -o "$br" -j "$c2"
  iptables -w -C "$c2" -o "$br" -j DROP 2>/dev/null || iptables -w -A "$c2" -o "$br" -j DROP
done
if [ "$(iptables -w -S FORWARD 1)" != "-A FORWARD -j $c1" ]; then
  while iptables -w -D FORWARD -j "$c1" 2>/dev/null; do :; done
  iptables -w -I FORWARD 1 -j "$c1"
fi`;

const REMOVE = `c1="$1"; c2="$2"; br="$3"
while iptables -w -D "$c1" -i "$br" ! -o "$br" -j "$c2" 2>/dev/null; do :; done
while iptables -w -D "$c2" -o "$br" -j DROP 2>/dev/null; do :; done
exit 0`;

/**
 * Makes sure each of `bridges` is isolated from the others (idempotent). Callers pass every
 * Berth network's bridge, so networks whose containers started before these rules existed
 * are covered too. Runs
 * under a lock file in ROOT/networks, so parallel starts never both create the chains or the
 * jump.
 */
export async function isolateBridges(root: string, bridges: readonly string[]): Promise<void> {
  if (!bridges.length) return;
  const dir = join(root, 'networks');
  mkdirSync(dir, { recursive: true });
  await run('flock', [join(dir, 'iptables.lock'), 'sh', '-c', ENSURE, 'sh', CHAIN1, CHAIN2, ...bridges]);
}

/** Removes a bridge's isolation rules (network rm). Safe when they are already gone. */
export async function unisolateBridge(bridge: string): Promise<void> {
  await run('sh', ['-c', REMOVE, 'sh', CHAIN1, CHAIN2, bridge]);
}
