/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): self time by function, and the time of
 * chosen functions by their callers, so a bench run's profile reads as a table.
 *   node --import tsx bench/lib/cpuprofile-summary.ts FILE.cpuprofile [top=40] [FUNCTION...]
 * With FUNCTION names, prints for each the callers whose subtrees include it (inclusive time).
 * PROFILE_WINDOW=FROM-TO (seconds from the profile's start) keeps only the samples in that
 * window; without it a timeline of busy time per second is printed first, to choose one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const label = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;

/** Self time (µs) by node id, of the samples taken between `from` and `to` (µs from the start). */
function selfTimes(p: Profile, from: number, to: number): Map<number, number> {
  const self = new Map<number, number>();
  let at = 0;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  return self;
}

/** Busy (not idle) ms in each second of the profile. */
function timeline(p: Profile, idle: Set<number>): string {
  const secs: number[] = [];
  let at = 0;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (idle.has(p.samples[i]!)) continue;
    const s = Math.floor(at / 1e6);
    secs[s] = (secs[s] ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000;
  }
  return Array.from(secs, (v, i) => `${i}:${Math.round(v ?? 0)}`).join(' ');
}

/** The source file of a frame in a bundle, through the bundle's source map when there is one. */
function sourceFiles(): (f: CallFrame) => string {
  const maps = new Map<string, SourceMap | undefined>();
  return (f) => {
    if (!f.url.startsWith('file:')) return f.url ? 'node internals' : '(native)';
    let m = maps.get(f.url);
    if (!maps.has(f.url)) {
      const file = `${fileURLToPath(f.url)}.map`;
      m = existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
      maps.set(f.url, m);
    }
    const e = m?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string } | undefined;
    return (e?.originalSource ?? f.url).replace(/^.*?\/(src|node_modules)\//, '$1/');
  };
}

function summarise(file: string, top: number, focus: string[]): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const window = /^([\d.]+)-([\d.]+)$/.exec(process.env.PROFILE_WINDOW ?? '');
  if (!window) {
    const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    console.log(`busy ms per second: ${timeline(p, idleIds)}`);
  }
  const self = window
    ? selfTimes(p, Number(window[1]) * 1e6, Number(window[2]) * 1e6)
    : selfTimes(p, 0, Number.POSITIVE_INFINITY);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)');
  const idleUs = idle.reduce((a, [, t]) => a + t, 0);
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
  console.log(`${file}: ${ms(total)} ms sampled, ${ms(total - idleUs)} ms busy`);

  const bySelf = new Map<string, number>();
  for (const [id, t] of self) {
    const k = label(byId.get(id)!.callFrame);
    bySelf.set(k, (bySelf.get(k) ?? 0) + t);
  }
  const fileOf = sourceFiles();
  const byFile = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    // Native frames (syscalls, GC) count for the nearest caller that has a source file.
    let n: number | undefined = id;
    while (n !== undefined && !byId.get(n)!.callFrame.url.startsWith('file:')) n = parent.get(n);
    const k = n === undefined ? fileOf(f) : fileOf(byId.get(n)!.callFrame);
    byFile.set(k, (byFile.get(k) ?? 0) + t);
  }
  console.log('self time by source file (native frames counted for their caller):');
  for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${ms(t)} ms  ${k}`);
  console.log('self time:');
  for (const [k, t] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${ms(t)} ms  ${k}`);

  for (const name of focus) {
    // Inclusive time of `name` (each sample counted once even under recursion), by its callers' chain.
    const byCaller = new Map<string, number>();
    let sum = 0;
    for (const [id, t] of self) {
      const chain: CallFrame[] = [];
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n))
        chain.push(byId.get(n)!.callFrame);
      const at = chain.findLastIndex((f) => f.functionName === name);
      if (at < 0) continue;
      sum += t;
      const callers = chain
        .slice(at + 1, at + 4)
        .map((f) => f.functionName || '(anonymous)')
        .join(' < ');
      byCaller.set(callers, (byCaller.get(callers) ?? 0) + t);
    }
    console.log(`${name}: ${ms(sum)} ms inclusive; by callers:`);
    for (const [k, t] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, 12))
      console.log(`${ms(t)} ms  ${k}`);
  }
}

const [file, topArg, ...focus] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprofile-summary.ts FILE.cpuprofile [top] [FUNCTION...]');
  process.exit(2);
}
summarise(file, Number(topArg ?? 40), focus);
