/**
 * Applies a proxy rule set with nftables: one `nft -f` transaction per apply, so the kernel
 * switches from the old rules to the new ones at once and a failed apply changes nothing.
 * Only the table `ip berth-proxy` is touched. The first apply of a process writes the table
 * whole; later ones change only what differs from the last. The table is never deleted while
 * the proxy runs, so the affinity sets keep the clients they remember. Also flushes conntrack
 * entries (`conntrack -D`), for stale UDP flows and at cleanup.
 */
import { internal } from '../../core/errors.js';
import { type RunOptions, type RunResult, run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import { FAMILY, MAPS, type RuleSet, TABLE, tableText } from './nft-rules.js';

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

/** The table's base chains: their first line is the `type ... hook ...` header. */
const isHeader = (line: string | undefined) => !!line?.startsWith('type ');

/**
 * The commands that turn the table from `prev` into `next`, touching only what differs:
 * new chains and sets are declared first (rules may name them), changed chains are flushed
 * and refilled, map elements are deleted and added one by one, and chains and sets no longer
 * named go last, once nothing refers to them. With 1,000 Services a change to one is a few
 * lines, where rewriting the table is a few hundred kilobytes for nft to parse.
 */
export function updateCommands(prev: RuleSet, next: RuleSet): string[] {
  const t = table;
  const out: string[] = [];
  for (const [name, def] of next.sets)
    if (prev.sets.get(name) !== def) out.push(`add set ${t} ${name} { ${def} }`);
  const changed: [string, string[]][] = [];
  for (const [name, rules] of next.chains) {
    const old = prev.chains.get(name);
    if (old && old.join('\n') === rules.join('\n')) continue;
    if (!old)
      out.push(isHeader(rules[0]) ? `add chain ${t} ${name} { ${rules[0]} }` : `add chain ${t} ${name}`);
    changed.push([name, rules]);
  }
  for (const [name, rules] of changed) {
    if (prev.chains.has(name)) out.push(`flush chain ${t} ${name}`);
    for (const r of isHeader(rules[0]) ? rules.slice(1) : rules) out.push(`add rule ${t} ${name} ${r}`);
  }
  for (const map of Object.keys(MAPS)) {
    const before = prev.elements[map] ?? new Map<string, string>();
    const after = next.elements[map] ?? new Map<string, string>();
    for (const [k, v] of before) if (after.get(k) !== v) out.push(`delete element ${t} ${map} { ${k} }`);
    for (const [k, v] of after) if (before.get(k) !== v) out.push(`add element ${t} ${map} { ${k} : ${v} }`);
  }
  const gone = [...prev.chains.keys()].filter((c) => !next.chains.has(c));
  for (const c of gone) out.push(`flush chain ${t} ${c}`);
  for (const c of gone) out.push(`delete chain ${t} ${c}`);
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) out.push(`delete set ${t} ${name}`);
  return out;
}

/** The nftables side of the proxy. */
export class NftBackend {
  /** What the last apply wrote; unknown at first and after a failed apply. */
  private applied: RuleSet | undefined;

  constructor(private readonly exec: Runner = run) {}

  /** Makes the table's content `rules`, atomically. */
  async apply(rules: RuleSet): Promise<void> {
    const script = this.applied
      ? updateCommands(this.applied, rules).join('\n')
      : await this.fullScript(rules);
    if (script) {
      const r = await this.exec('nft', ['-f', '-'], { input: `${script}\n`, check: false });
      if (r.code !== 0) {
        this.applied = undefined; // unsure what is there now: write it whole next time
        throw internal(`nft did not apply the service rules: ${r.stderr.trim()}`);
      }
    }
    this.applied = rules;
  }

  /**
   * The table written whole: flushed (which keeps the affinity sets' elements) and filled,
   * with what an earlier process made and these rules no longer name deleted.
   */
  private async fullScript(rules: RuleSet): Promise<string> {
    const t = await listTable(this.exec);
    const lines = [`add table ${table}`, `flush table ${table}`];
    for (const [name, type] of Object.entries(MAPS))
      lines.push(`add map ${table} ${name} { ${type}; }`, `flush map ${table} ${name}`);
    for (const c of t.chains) if (!rules.chains.has(c)) lines.push(`delete chain ${table} ${c}`);
    for (const s of t.sets) if (!rules.sets.has(s)) lines.push(`delete set ${table} ${s}`);
    return `${lines.join('\n')}\n${tableText(rules)}`;
  }

  /**
   * Removes the table and the conntrack entries of connections its rules translated; says
   * whether there was a table to remove.
   */
  async cleanup(): Promise<boolean> {
    const t = await listTable(this.exec);
    if (!t.chains.length && !t.sets.length && !Object.keys(t.maps).length) return false;
    await this.exec('nft', ['delete', 'table', FAMILY, TABLE]);
    const ips = new Set((t.maps['service-ips'] ?? []).map((k) => k[0]!));
    const nodePorts = new Set((t.maps['service-nodeports'] ?? []).map((k) => `${k[0]} ${k[1]}`));
    for (const ip of ips) await flushConntrack(['--orig-dst', ip], this.exec);
    for (const pp of nodePorts) {
      const [proto, port] = pp.split(' ');
      await flushConntrack(['-p', proto!, '--orig-port-dst', port!], this.exec);
    }
    this.applied = undefined;
    return true;
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
