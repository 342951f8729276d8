import type { Command } from 'commander';

/** The cluster DNS flags `berth server` (for its embedded agent) and `berth agent` share. */
export interface ClusterDnsFlags {
  clusterDomain: string;
  resolvConf: string;
}

/**
 * Adds --cluster-domain and --resolv-conf (the kubelet's names and defaults). The cluster DNS
 * address itself is the server's to choose (`berth server --cluster-dns`); agents read it
 * from the kube-dns Service.
 */
export function addClusterDnsFlags(cmd: Command): Command {
  return cmd
    .option('--cluster-domain <domain>', "the cluster's DNS domain", 'cluster.local')
    .option(
      '--resolv-conf <file>',
      "the node's resolv.conf: the cluster DNS forwards to its servers, dnsPolicy Default pods get it",
      '/etc/resolv.conf',
    );
}
