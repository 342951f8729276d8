/**
 * bench/startup: the CLI's own start-up, which every command pays. `berth --version` against
 * `node -e 0` (goal: within 20 ms), and for scale `berth --help` and `berth ps` on an empty
 * store, all run interleaved (A, B, C, A, B, C...) so load from other work falls on each
 * alike. Prints medians, the difference from bare Node in ms, the ratio, and the load average.
 * Run: node --import tsx bench/startup.ts [runs=40]
 * With BERTH_BASELINE=/path/to/another/bin/berth (an older build), its figures are measured in
 * the same rounds, for a before-and-after that shares the machine's load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { interleave, summarise, timeCommand } from './lib/measure.js';

const runs = Number(process.argv[2] ?? 40);
const berthBin = resolve(import.meta.dirname, '..', 'bin', 'berth');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-startup-'));
const store = ['--root', join(work, 'root'), '--runroot', join(work, 'run')];

const berthCases = (label: string, bin: string): Array<[string, string, string[]]> => [
  [`${label} --version`, bin, ['--version']],
  [`${label} --help`, bin, ['--help']],
  [`${label} ps`, bin, [...store, 'ps']],
];
const baseline = process.env.BERTH_BASELINE;
const cases: Array<[string, string, string[]]> = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ...berthCases('berth', berthBin),
  ...(baseline ? berthCases('baseline', baseline) : []),
];
try {
  const load = () => loadavg()[0]!.toFixed(2);
  const loadBefore = load();
  const times = interleave(
    runs,
    3,
    cases.map(
      ([, file, args]) =>
        () =>
          timeCommand(file, args),
    ),
  );
  const medians = times.map((t) => summarise(t).median);
  const node = medians[0]!;
  console.log(
    `bench/startup: ${runs} interleaved runs each after 3 warm-ups, medians; load average ${loadBefore} before, ${load()} after`,
  );
  cases.forEach(([label], k) => {
    const m = medians[k]!;
    const vsNode =
      k === 0 ? '' : `, +${(m - node).toFixed(1)} ms over node -e 0, ratio ${(m / node).toFixed(2)}x`;
    const goal = label.endsWith(' --version') ? ' (goal: within 20 ms)' : '';
    console.log(`${label}: ${m.toFixed(1)} ms${vsNode}${goal}`);
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
