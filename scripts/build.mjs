// Bundles the CLI into dist/ with esbuild. Code splitting keeps `berth --help` from loading
// the engine and the cluster: each command's action imports its implementation lazily.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  // Worker threads load files of their own: the SQLite datastore's writer, the control plane,
  // the parser of large YAML bodies.
  entryPoints: {
    berth: 'src/cli/main.ts',
    'sqlite-writer': 'src/cluster/store/sqlite/sqlite-writer.ts',
    'plane-thread': 'src/cluster/controllers/plane-thread.ts',
    'yaml-thread': 'src/cluster/apiserver/yaml-thread.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native addons and packages that load files at run time stay outside the bundle.
  external: ['better-sqlite3', 'etcd3', '@grpc/grpc-js', 'cpu-features', 'ssh2'],
  define: { BERTH_VERSION: JSON.stringify(pkg.version) },
  // Bundled CommonJS packages call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
// bin/berth answers `berth --version` from this file without loading the bundle.
writeFileSync(new URL('../dist/version', import.meta.url), `${pkg.version}\n`);
