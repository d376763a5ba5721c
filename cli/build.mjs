// Bundles the command line (src/cli + src/core) into cli/dist/tsdb-ops.js: one self-contained CommonJS file
// for Node, plus the PostgreSQL parser's WebAssembly file next to it (libpg-query loads it from the bundle's folder).
// Usage: node cli/build.mjs [--production]   (npm pack in cli/ runs it through `prepack`)
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const production = process.argv.includes('--production');
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const outdir = join(here, 'dist');
const outfile = join(outdir, 'tsdb-ops.js');

mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // ssh2 (through dockerode) loads two optional native parts inside try/catch; pg-native is never used.
  external: ['cpu-features', '*.node', 'pg-native'],
  mainFields: ['module', 'main'],
  banner: { js: '#!/usr/bin/env node' },
  define: { TSDB_OPS_CLI_VERSION: JSON.stringify(version) },
  minify: production,
  sourcemap: false,
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});
chmodSync(outfile, 0o755);
copyFileSync(
  createRequire(join(root, 'package.json')).resolve('libpg-query/wasm/libpg-query.wasm'),
  join(outdir, 'libpg-query.wasm'),
);
console.log(`built ${outfile} (tsdb-ops ${version})`);
