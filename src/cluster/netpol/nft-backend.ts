/**
 * Applies the node's NetworkPolicy tables with nftables: every apply replaces them whole in
 * one `nft -f` transaction, so the kernel switches from the old rules to the new ones at once
 * and a failed apply changes nothing. Only `inet berth-netpol` and `bridge berth-netpol` are
 * touched. Whole replacement rather than a diff (as the Service proxy does): the tables hold a
 * few lines per rule and per local pod, so even 200 policies make a script nft reads in
 * milliseconds, and no state is kept between applies but the last text (an unchanged table
 * is not written again).
 */
import { readFileSync } from 'node:fs';
import { internal } from '../../core/errors.js';
import { type RunOptions, type RunResult, run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import { netpolScript, type SetShape, TABLE } from './nft-rules.js';

/** Runs a program (a seam: tests run nft inside their own network namespace). */
export type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export type Tables = { inet: string; bridge?: string };

const log = logger('netpol');

/**
 * Whether IPv4 frames switched by a bridge pass the IP hooks (br_netfilter loaded with
 * `bridge-nf-call-iptables` on, per network namespace since Linux 5.3). When they do, the
 * inet table sees traffic between pods of one bridge with connection tracking.
 */
export function bridgedFramesReachIpHooks(path = '/proc/sys/net/bridge/bridge-nf-call-iptables'): boolean {
  try {
    return readFileSync(path, 'utf8').trim() === '1';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // br_netfilter is not loaded
    throw e;
  }
}

/**
 * A table with a set of concatenations with intervals, added and deleted in one transaction:
 * nft before 0.9.4 cannot read it and a kernel before 5.6 refuses it, and either way nothing
 * is left behind.
 */
const PROBE = [
  `table inet ${TABLE}-probe {`,
  '  set probe {',
  '    type ipv4_addr . inet_proto . inet_service; flags interval;',
  '    elements = { 10.0.0.0-10.0.0.255 . tcp . 80-81 }',
  '  }',
  '}',
  `delete table inet ${TABLE}-probe`,
  '',
].join('\n');

export class NetpolBackend {
  /** The tables the last apply wrote; unknown at first and after a failed apply. */
  private applied: string | undefined;
  private shape: Promise<SetShape> | undefined;

  constructor(private readonly exec: Runner = run) {}

  /**
   * The set shape this nft and kernel take (asked once): `concatenated` when they accept
   * concatenations with intervals, `per-port` otherwise.
   */
  setShape(): Promise<SetShape> {
    this.shape ??= this.exec('nft', ['-f', '-'], { input: PROBE, check: false }).then((r) => {
      if (r.code === 0) return 'concatenated';
      log.info('nft or the kernel refuses concatenated interval sets: network policies use a line per port', {
        error: r.stderr.trim(),
      });
      return 'per-port';
    });
    return this.shape;
  }

  /** Makes the node's tables `tables`; says whether anything was written. */
  async apply(tables: Tables): Promise<boolean> {
    const script = netpolScript(tables);
    if (script === this.applied) return false;
    const r = await this.exec('nft', ['-f', '-'], { input: script, check: false });
    if (r.code !== 0) {
      this.applied = undefined;
      throw internal(`nft did not apply the network policy rules: ${r.stderr.trim()}`);
    }
    this.applied = script;
    return true;
  }

  /** Removes both tables; says whether there was one to remove. */
  async cleanup(): Promise<boolean> {
    let removed = false;
    for (const family of ['inet', 'bridge']) {
      const has = await this.exec('nft', ['list', 'table', family, TABLE], { check: false });
      if (has.code !== 0) continue;
      await this.exec('nft', ['delete', 'table', family, TABLE]);
      removed = true;
    }
    this.applied = undefined;
    return removed;
  }
}
