/**
 * The pod network's masquerade rules, in an nftables table of its own (`inet berth-podnet`).
 * nftables rather than iptables: the whole table is replaced in one atomic `nft -f`
 * transaction on every change (no window with half the rules), `--cleanup` removes it with one
 * command, and a table of our own never meets the Service proxy's table or the rules the CNI
 * plugins and Docker keep in iptables' tables.
 */
import { run } from '../../core/exec.js';

export const NFT_TABLE = 'berth-podnet';

/**
 * Pods' traffic to any node's pod range keeps its source (pod-to-pod is never masqueraded);
 * traffic from this node's pods to anywhere else, multicast aside, leaves with the node's
 * address, as flannel's `--ip-masq` does.
 */
export function rulesetFor(podCidr: string, allPodCidrs: readonly string[]): string {
  const cidrs = [...new Set([podCidr, ...allPodCidrs])].sort();
  return [
    // Declaring then deleting makes the replacement work whether or not the table exists.
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    '  set pod-cidrs {',
    '    type ipv4_addr; flags interval;',
    `    elements = { ${cidrs.join(', ')} }`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${podCidr} ip daddr @pod-cidrs return`,
    `    ip saddr ${podCidr} ip daddr 224.0.0.0/4 return`,
    `    ip saddr ${podCidr} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function applyRuleset(text: string): Promise<void> {
  await run('nft', ['-f', '-'], { input: text });
}

/** Removes the table, if it is there. */
export async function deleteTable(): Promise<boolean> {
  const has = await run('nft', ['list', 'table', 'inet', NFT_TABLE], { check: false });
  if (has.code !== 0) return false;
  await run('nft', ['delete', 'table', 'inet', NFT_TABLE]);
  return true;
}
