// Bundles the extension into dist/extension.js (CommonJS, Node, `vscode` external) and the timeline webview into dist/timeline.js.
// Usage: node esbuild.mjs [--production] [--watch] [--metafile]
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Prints errors in the format of the `$esbuild-watch` problem matcher. */
const problemMatcher = {
  name: 'problem-matcher',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      console.log('[watch] build finished');
    });
  },
};

/**
 * dockerode requires its BuildKit session module at load time, which pulls in @grpc/grpc-js and
 * protobufjs (about 380 KB minified). It is only used by `buildImage({ version: '2' })`, which this
 * extension never calls: bundle a stand-in that says so instead.
 */
const noBuildKitSession = {
  name: 'no-buildkit-session',
  setup(build) {
    build.onResolve({ filter: /^\.\/session$/ }, (args) =>
      /[\\/]dockerode[\\/]lib$/.test(args.resolveDir) ? { path: 'dockerode-session', namespace: 'stub' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        "module.exports = function withSession() { throw new Error('BuildKit sessions (buildImage version 2) are not bundled in TimescaleDB Ops.'); };",
      loader: 'js',
    }));
  },
};

/**
 * docker-modem requires ssh2 (for ssh:// engines) and readable-stream (for attached streams) when it loads: about
 * two thirds of dockerode's load, which lands on the first Docker request of a starting window. Each is bundled
 * behind a stand-in that requires it on first call instead (the modules themselves are unchanged).
 */
const lazyDockerModemParts = {
  name: 'lazy-docker-modem-parts',
  setup(build) {
    build.onResolve({ filter: /^\.\/(ssh|http_duplex)$/ }, (args) =>
      /[\\/]docker-modem[\\/]lib$/.test(args.resolveDir)
        ? { path: `docker-modem/lib/${args.path.slice(2)}`, namespace: 'lazy', pluginData: args.resolveDir }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      // ssh.js exports a function (options → agent), http_duplex.js a constructor: both are called through.
      contents: args.path.endsWith('ssh')
        ? "module.exports = function (opt) { return require('./ssh.js')(opt); };"
        : "module.exports = function HttpDuplex(req, res) { var D = require('./http_duplex.js'); return new D(req, res); };",
      loader: 'js',
      resolveDir: args.pluginData,
    }));
  },
};

const options = {
  entryPoints: ['src/extension.ts'],
  outfile: 'dist/extension.js',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // `vscode` is provided by the extension host. dockerode -> ssh2 has two optional native parts,
  // both loaded inside try/catch by ssh2: the `cpu-features` addon and its own `sshcrypto.node`.
  // Leaving them external keeps the bundle pure JavaScript; ssh2 falls back to Node's crypto.
  external: ['vscode', 'cpu-features', '*.node'],
  // pg's optional native binding (`pg-native`) is only required when `pg.native` is used; we never do.
  alias: {},
  mainFields: ['module', 'main'],
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  metafile: process.argv.includes('--metafile'),
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
  plugins: [problemMatcher, noBuildKitSession, lazyDockerModemParts],
};

// The PostgreSQL parser's WebAssembly file: libpg-query loads it from the folder of the bundle (its __dirname),
// i.e. dist/, on first use. It ships in the .vsix (see .vscodeignore and test/support/check-vsix.mjs).
mkdirSync('dist', { recursive: true });
copyFileSync(createRequire(import.meta.url).resolve('libpg-query/wasm/libpg-query.wasm'), 'dist/libpg-query.wasm');
/** The Recovery Timeline webview's script (d3-scale, d3-axis, d3-selection, d3-zoom): a browser IIFE, always minified. */
const webview = {
  entryPoints: ['src/webview/timeline.ts'],
  outfile: 'dist/timeline.js',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  plugins: [problemMatcher],
};

if (watch) {
  const ctx = await esbuild.context(options);
  const wctx = await esbuild.context(webview);
  await Promise.all([ctx.watch(), wctx.watch()]);
} else {
  const [result] = await Promise.all([esbuild.build(options), esbuild.build(webview)]);
  if (result.metafile) writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
}
