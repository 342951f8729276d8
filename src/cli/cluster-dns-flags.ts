import type { Command } from 'commander';

/** The cluster DNS flags `berth server` (for its embedded agent) and `berth agent` share. */
export interface ClusterDnsFlags {
  clusterDns: string;
  clusterDomain: string;
  resolvConf: string;
}

/** Adds --cluster-dns, --cluster-domain and --resolv-conf (the kubelet's names and defaults). */
export function addClusterDnsFlags(cmd: Command): Command {
  return cmd
    .option('--cluster-dns <ip>', 'the cluster DNS address: each node serves it, pods use it', '10.43.0.10')
    .option('--cluster-domain <domain>', "the cluster's DNS domain", 'cluster.local')
    .option(
      '--resolv-conf <file>',
      "the node's resolv.conf: the cluster DNS forwards to its servers, dnsPolicy Default pods get it",
      '/etc/resolv.conf',
    );
}
