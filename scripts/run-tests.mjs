// Runs the test suite on node's own runner, with tsx so tests import the TypeScript sources.
// Usage: node scripts/run-tests.mjs [--unit|--integration] [path-substring...]
// Unit tests sit beside the code (src/**/*.test.ts); integration tests live under test/.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--integration') ? 'integration' : 'all';
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = [];
if (only !== 'integration') walk('src', files);
if (only !== 'unit') walk('test', files);
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
files.sort();
if (files.length === 0) {
  console.error('No test files matched.');
  process.exit(1);
}
const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files],
  { stdio: 'inherit', env: { ...process.env, BERTH_REPO: process.cwd() } },
);
process.exit(r.status ?? 1);
