/**
 * Applies a proxy rule set with nftables: one `nft -f` transaction per apply, so the kernel
 * switches from the old rules to the new ones at once and a failed apply changes nothing.
 * Only the table `ip berth-proxy` is touched. The table is flushed and filled again rather
 * than deleted, so the affinity sets keep the clients they remember; chains and sets the
 * new rules no longer name are deleted in the same transaction. Also flushes conntrack
 * entries (`conntrack -D`), for stale UDP flows and at cleanup.
 */
import { internal } from '../../core/errors.js';
import { type RunOptions, type RunResult, run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import { FAMILY, MAPS, type RuleSet, TABLE } from './nft-rules.js';

const log = logger('proxy');
const table = `${FAMILY} ${TABLE}`;

/** Runs a program (a seam: tests run nft inside their own network namespace). */
export type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** What the table holds now, from `nft -j list table` (empty when it does not exist). */
async function listTable(
  exec: Runner,
): Promise<{ chains: string[]; sets: string[]; maps: Record<string, string[][]> }> {
  const r = await exec('nft', ['-j', 'list', 'table', FAMILY, TABLE], { check: false });
  const out = { chains: [] as string[], sets: [] as string[], maps: {} as Record<string, string[][]> };
  if (r.code !== 0) {
    if (/No such file or directory/.test(r.stderr)) return out;
    throw internal(`Cannot list nftables table ${table}: ${r.stderr.trim()}`);
  }
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  for (const item of items) {
    if (item.chain) out.chains.push(item.chain.name as string);
    if (item.set) out.sets.push(item.set.name as string);
    if (item.map) out.maps[item.map.name as string] = mapKeys(item.map.elem);
  }
  return out;
}

/** The keys of a map's elements in nft's JSON (a concatenation's parts as strings). */
function mapKeys(elems: unknown): string[][] {
  if (!Array.isArray(elems)) return [];
  return elems.map((e) => {
    const key = Array.isArray(e) ? e[0] : e;
    const concat = (key as { concat?: unknown[] })?.concat;
    return (concat ?? [key]).map(String);
  });
}

/** The nftables side of the proxy. */
export class NftBackend {
  private applied: { chains: Set<string>; sets: Set<string> } | undefined;

  constructor(private readonly exec: Runner = run) {}

  /** Replaces the table's content with `rules`, atomically. */
  async apply(rules: RuleSet): Promise<void> {
    // The first apply of a process learns what an earlier one left, to delete what is stale.
    let before = this.applied;
    if (!before) {
      const t = await listTable(this.exec);
      before = { chains: new Set(t.chains), sets: new Set(t.sets) };
    }
    const chains = new Set(rules.chains);
    const sets = new Set(rules.sets);
    const lines = [`add table ${table}`, `flush table ${table}`];
    for (const [name, type] of Object.entries(MAPS))
      lines.push(`add map ${table} ${name} { ${type}; }`, `flush map ${table} ${name}`);
    for (const c of before.chains) if (!chains.has(c)) lines.push(`delete chain ${table} ${c}`);
    for (const s of before.sets) if (!sets.has(s)) lines.push(`delete set ${table} ${s}`);
    const r = await this.exec('nft', ['-f', '-'], {
      input: `${lines.join('\n')}\n${rules.text}`,
      check: false,
    });
    if (r.code !== 0) {
      this.applied = undefined; // unsure what is there now: list again next time
      throw internal(`nft did not apply the service rules: ${r.stderr.trim()}`);
    }
    this.applied = { chains, sets };
  }

  /** Removes the table and the conntrack entries of connections its rules translated. */
  async cleanup(): Promise<void> {
    const t = await listTable(this.exec);
    if (!t.chains.length && !t.sets.length && !Object.keys(t.maps).length) return;
    await this.exec('nft', ['delete', 'table', FAMILY, TABLE]);
    const ips = new Set((t.maps['service-ips'] ?? []).map((k) => k[0]!));
    const nodePorts = new Set((t.maps['service-nodeports'] ?? []).map((k) => `${k[0]} ${k[1]}`));
    for (const ip of ips) await flushConntrack(['--orig-dst', ip], this.exec);
    for (const pp of nodePorts) {
      const [proto, port] = pp.split(' ');
      await flushConntrack(['-p', proto!, '--orig-port-dst', port!], this.exec);
    }
    this.applied = undefined;
  }
}

/**
 * Deletes the conntrack entries that match `filter` (conntrack's own options). None matching
 * is not an error; a missing conntrack tool is logged once per call, since stale entries only
 * delay a UDP client until its flow times out.
 */
export async function flushConntrack(filter: string[], exec: Runner = run): Promise<void> {
  const r = await exec('conntrack', ['-D', ...filter], { check: false }).catch((e: Error) => ({
    code: -1,
    stderr: e.message,
  }));
  if (r.code === 0 || /0 flow entries have been deleted/.test(r.stderr)) return;
  log.warn('conntrack entries not flushed', { filter: filter.join(' '), err: r.stderr.trim() });
}
