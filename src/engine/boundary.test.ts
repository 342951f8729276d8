/**
 * The engine is a library that several front ends call in one process (the CLI, the Docker
 * API socket, the node agent): it must not read or write the process's own stdio, read its
 * argv, or end it. Streams, the argv to re-run Berth and signals come in as arguments.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const FORBIDDEN = /\bprocess\.(stdin|stdout|stderr|argv|exit)\b|\bprocess\.on\(/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('nothing under src/engine touches process stdio, argv, exit or signal handlers', () => {
  const here = import.meta.dirname;
  const offenders = sources(here).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => FORBIDDEN.test(line) && !/^\s*(\/\/|\*)/.test(line))
      .map(({ line, i }) => `${relative(here, file)}:${i + 1}: ${line.trim()}`),
  );
  assert.deepEqual(offenders, []);
});
