import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on a module beside the caller: `NAME.js` in the bundle (each such
 * module is its own entry in scripts/build.mjs), `NAME.ts` when run from source (tests under
 * tsx). A worker's entry file cannot be .ts even with tsx's loader in its execArgv, so from
 * source a two-line bootstrap registers tsx first and then imports the module. Undefined
 * when the file is missing (a bundle built without that entry).
 */
export function startWorker(callerUrl: string, name: string, workerData: unknown): Worker | undefined {
  const ts = callerUrl.endsWith('.ts');
  const file = new URL(`./${name}.${ts ? 'ts' : 'js'}`, callerUrl);
  if (!existsSync(file)) return undefined;
  if (!ts) return new Worker(file, { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
