// Bundles Berth into dist/ with esbuild, in two parts:
// - dist/berth.script.js, the CLI: one CommonJS bundle wrapped, as Node wraps a CommonJS
//   module, in a function expression that bin/berth compiles with a V8 code cache
//   (dist/berth.script.js.*.cache, written here by running `berth --help` once) and calls.
//   Every command pays the CLI's start-up; from the cache V8 deserializes what it compiled
//   before instead of parsing and compiling it again, which Node 20 offers for scripts but
//   not for ES modules. The file is not a module: `node dist/berth.script.js` does nothing.
//   Command actions still import their implementation lazily: in one file that means they
//   are not run, and not compiled beyond V8's quick pre-parse, until a command needs them.
// - the worker threads' entries (the SQLite datastore's writer, the control plane, the
//   parser of large YAML bodies), ES modules with code splitting, which each thread loads
//   from a file of its own.

import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { generate as k8sSchema } from './k8s-schema.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native addons and packages that load files at run time stay outside the bundle.
  external: ['better-sqlite3', 'etcd3', '@grpc/grpc-js', 'cpu-features', 'ssh2'],
  define: { BERTH_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: { 'berth.script': 'src/cli/main.ts' },
  format: 'cjs',
  // better-sqlite3's JavaScript goes into the bundle and its code cache (src/core/sqlite.ts
  // names the addon, which stays in node_modules); the cluster store still loads it at run time.
  external: common.external.filter((p) => p !== 'better-sqlite3'),
  // The sources are ES modules: give them import.meta.url in CommonJS. Only code run from
  // source (under tsx) calls import.meta.resolve.
  define: { ...common.define, 'import.meta.url': '__berthModuleUrl', 'import.meta.resolve': 'undefined' },
  // A script run through vm.Script has no import() in Node 20 ("A dynamic import callback
  // was not specified"): every import() becomes a require().
  supported: { 'dynamic-import': false },
  // The wrapper opens on the first line, so line numbers in stack traces match the file;
  // bin/berth reads the file as it is (no copy to wrap it), and V8 sees the directive first.
  banner: {
    js: "(function (exports, require, module, __filename, __dirname) {'use strict'; const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;",
  },
  footer: { js: '})' },
});
await build({
  ...common,
  entryPoints: {
    'sqlite-writer': 'src/cluster/store/sqlite/sqlite-writer.ts',
    'plane-thread': 'src/cluster/controllers/plane-thread.ts',
    'yaml-thread': 'src/cluster/apiserver/yaml-thread.ts',
    'ingress-thread': 'src/cluster/ingress/ingress-thread.ts',
    'ingress-helper': 'src/cluster/ingress/ingress-helper.ts',
    'sha256-thread': 'src/core/sha256-thread.ts',
  },
  splitting: true,
  format: 'esm',
  // Bundled CommonJS packages call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);",
  },
});
// bin/berth answers `berth --version` from this file without loading the bundle.
writeFileSync(new URL('../dist/version', import.meta.url), `${pkg.version}\n`);
// The built-in types' fields and descriptions, derived from the installed client (see the script).
writeFileSync(new URL('../dist/k8s-schema.json', import.meta.url), JSON.stringify(await k8sSchema()));
// Protobuf field numbers and server-side apply's list types, read beside the bundle (k8s-proto.ts).
copyFileSync(
  new URL('../src/cluster/api/k8s-proto.json', import.meta.url),
  new URL('../dist/k8s-proto.json', import.meta.url),
);
// bin/berth writes the code cache when there is none; `--help` declares every command.
const help = spawnSync(
  process.execPath,
  ['--', new URL('../bin/berth', import.meta.url).pathname, '--help'],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (help.status !== 0) throw new Error(`berth --help failed (${help.status ?? help.signal}) after the build`);
