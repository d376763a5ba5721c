// Checks the packaged extension: at most 1.5 MB, nothing but what runs (no src/, test/, node_modules/, maps), and
// every page of docs/ (the README links into it).
// Usage: node test/support/check-vsix.mjs out/tsdb-ops.vsix
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const file = process.argv[2] ?? 'out/tsdb-ops.vsix';
const size = statSync(file).size;
const listing = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
const allowed = new RegExp(
  '^(extension\\.vsixmanifest|\\[Content_Types\\]\\.xml|extension/(package\\.json|readme\\.md|changelog\\.md|LICENSE\\.txt|' +
    'dist/(extension\\.js|timeline\\.js|libpg-query\\.wasm)|media/[^/]+|media/walkthrough/[^/]+\\.md|docs/[^/]+\\.md))$',
);
const unexpected = listing.filter((name) => !allowed.test(name));
// The command line (cli/: its package.json, build script and bundle) is its own npm package, never in the .vsix.
const commandLine = listing.filter((name) => /^extension\/(cli\/|.*tsdb-ops\.js$)/.test(name));
console.log(`${file}: ${(size / 1024).toFixed(1)} KB, ${listing.length} files`);
let failed = false;
if (size > 1.5 * 1024 * 1024) {
  console.error(`too large: ${size} bytes > 1.5 MB`);
  failed = true;
}
if (unexpected.length) {
  console.error(`unexpected files in the package (fix .vscodeignore): ${unexpected.join(', ')}`);
  failed = true;
}
if (commandLine.length) {
  console.error(`files of the command line in the package (add cli/ to .vscodeignore): ${commandLine.join(', ')}`);
  failed = true;
}
for (const needed of [
  'extension/dist/extension.js',
  'extension/dist/libpg-query.wasm',
  'extension/dist/timeline.js',
  'extension/package.json',
  'extension/readme.md',
  'extension/LICENSE.txt',
  ...readdirSync(fileURLToPath(import.meta.resolve('../../docs/')))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `extension/docs/${f}`),
  // The first-run walkthrough's step media (package.json contributes.walkthroughs).
  ...JSON.parse(readFileSync(fileURLToPath(import.meta.resolve('../../package.json')), 'utf8'))
    .contributes.walkthroughs.flatMap((w) => w.steps)
    .map((s) => `extension/${s.media.markdown}`),
]) {
  if (!listing.includes(needed)) {
    console.error(`missing from the package: ${needed}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
