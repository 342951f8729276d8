/**
 * Shared pieces of the side-by-side benchmarks: time a command many times, summarise, and
 * print Berth's figure against a peer's as a ratio. Benchmarks print; they never assert.
 */
import { spawnSync } from 'node:child_process';

export interface Summary {
  n: number;
  median: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Percentile by nearest rank over a sorted copy; p in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export function summarise(values: readonly number[]): Summary {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, n);
  return {
    n,
    median: percentile(values, 50),
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
    mean,
  };
}

/** Wall time in milliseconds of one synchronous run of a command; throws if it fails. */
export function timeCommand(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr?.toString().trim()}`,
    );
  }
  return ms;
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times measured. */
export function repeat(runs: number, warmup: number, fn: () => number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(fn());
  return out;
}

/**
 * Runs each of `fns` in turn, `runs` rounds after `warmup` unmeasured ones (A, B, A, B...), so
 * that load from other work on the machine falls on every figure alike. Returns one list of
 * times per function.
 */
export function interleave(runs: number, warmup: number, fns: ReadonlyArray<() => number>): number[][] {
  const out = fns.map(() => [] as number[]);
  for (let i = 0; i < warmup + runs; i++) {
    fns.forEach((fn, k) => {
      const t = fn();
      if (i >= warmup) out[k]!.push(t);
    });
  }
  return out;
}

/** True when a program is on PATH. */
export function have(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Prints one comparison line: `label: berth X ms, peer Y ms, ratio R (goal <= G)`. */
export function printRatio(
  label: string,
  berth: number,
  peerName: string,
  peer: number | undefined,
  goal?: string,
): void {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  if (peer === undefined || Number.isNaN(peer)) {
    console.log(`${label}: berth ${f(berth)} ms; ${peerName}: not measured`);
    return;
  }
  const ratio = berth / peer;
  console.log(
    `${label}: berth ${f(berth)} ms, ${peerName} ${f(peer)} ms, ratio ${ratio.toFixed(2)}x${goal ? ` (goal ${goal})` : ''}`,
  );
}
