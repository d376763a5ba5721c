/**
 * A real VS Code without downloading VS Code: the npm package `code-server@4.100.3` carries the
 * VS Code 1.100.3 server. It is installed on demand into a cache folder (never a dependency of the
 * extension), following shared/notes/test-bench.md "A real VS Code in a real browser":
 *  - libkrb5-dev must be installed (the `kerberos` native module needs the gssapi headers);
 *  - @vscode/ripgrep's download is answered from its cache (a tar.gz of Debian's /usr/bin/rg);
 *  - npm_config_unsafe_perm=true npm_config_yes=true (its postinstall refuses root otherwise and
 *    calls `npx node-gyp`), and npm >= 11.19 must be allowed to run dependency install scripts:
 *    the install runs in its own private folder with npm_config_dangerously_allow_all_scripts=true
 *    (code-server's postinstall runs a nested `npm install` in lib/vscode whose native modules
 *    need their scripts too, so a per-package allowScripts list would not reach them).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isCI, which } from '../requirements.js';
import { runProcess, sleep } from './processes.js';

export const CODE_SERVER_VERSION = '4.100.3';
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

export const APT_HINT = 'apt-get install -y chromium libkrb5-dev ripgrep';

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tsdb-ops', `code-server-${CODE_SERVER_VERSION}`);
}

export interface CodeServerInstall {
  root: string;
  /** node_modules/code-server */
  pkg: string;
  /** The VS Code server entry (lib/vscode/out/server-main.js). */
  serverMain: string;
  /** code-server's own CLI entry (out/node/entry.js), run with node. */
  cli: string;
}

function paths(root: string): CodeServerInstall {
  const pkg = join(root, 'node_modules', 'code-server');
  return {
    root,
    pkg,
    serverMain: join(pkg, 'lib', 'vscode', 'out', 'server-main.js'),
    cli: join(pkg, 'out', 'node', 'entry.js'),
  };
}

/** A part the harness needs from the machine; `undefined` when everything is there. */
export function missingParts(): string | undefined {
  const missing: string[] = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium (/usr/bin/chromium)');
  if (!isInstalled()) {
    if (!which('rg')) missing.push('ripgrep (rg, for the code-server install)');
    if (!existsSync('/usr/include/gssapi/gssapi.h') && !which('krb5-config'))
      missing.push('libkrb5-dev (gssapi headers, for the code-server install)');
  }
  return missing.length ? missing.join(', ') : undefined;
}

const MARKER = '.tsdb-ops-install-complete';

function isInstalled(): boolean {
  const root = cacheDir();
  const p = paths(root);
  return existsSync(join(root, MARKER)) && existsSync(p.serverMain) && existsSync(p.cli);
}

/** Installs code-server into the cache folder unless it is there already. */
export async function ensureCodeServer(log: (line: string) => void = console.log): Promise<CodeServerInstall> {
  const root = cacheDir();
  const p = paths(root);
  if (isInstalled()) return p;
  // One installer at a time (test:vscode and test:e2e may start together on a cold machine).
  const lock = `${root}.lock`;
  mkdirSync(dirname(root), { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (isInstalled()) return p;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      if (age > 15 * 60_000) rmSync(lock, { recursive: true, force: true }); // a stale lock
      if (Date.now() > deadline) throw new Error(`timed out waiting for another code-server install (${lock})`);
      await sleep(1000);
    }
  }
  try {
    if (isInstalled()) return p;
    return await install(root, p, log);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function install(root: string, p: CodeServerInstall, log: (line: string) => void): Promise<CodeServerInstall> {
  const rg = which('rg');
  if (!rg) throw new Error(`ripgrep (rg) is missing. Install it with: ${APT_HINT}`);
  if (!existsSync('/usr/include/gssapi/gssapi.h') && !which('krb5-config'))
    throw new Error(`libkrb5-dev is missing. Install it with: ${APT_HINT}`);

  // Answer @vscode/ripgrep's download from its cache with Debian's rg.
  const tmp = process.env.TMPDIR || tmpdir();
  const rgCache = join(tmp, RIPGREP_CACHE);
  const asset = join(rgCache, RIPGREP_ASSET);
  if (!existsSync(asset)) {
    mkdirSync(rgCache, { recursive: true });
    const stage = mkdtempSync(join(tmp, 'tsdb-ops-rg-'));
    try {
      copyFileSync(rg, join(stage, 'rg'));
      const tar = await runProcess(['tar', '-czf', asset, '-C', stage, 'rg']);
      if (tar.code !== 0) throw new Error(`could not build the ripgrep cache: ${tar.output}`);
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }

  log(`installing code-server@${CODE_SERVER_VERSION} into ${root} (about a minute, 300 MB)…`);
  const started = Date.now();
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'tsdb-ops-code-server-cache', private: true, description: 'test harness cache' }, null, 2),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
    npm_config_dangerously_allow_all_scripts: 'true',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const res = await runProcess(['npm', 'install', '--no-save', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: root,
    env,
    timeoutMs: 15 * 60_000,
  });
  if (res.code !== 0 || !existsSync(p.serverMain)) {
    throw new Error(`code-server install failed (exit ${res.code}):\n${res.output.slice(-4000)}`);
  }
  const rgBin = join(p.pkg, 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  if (!existsSync(rgBin))
    throw new Error(`code-server installed without ripgrep (${rgBin}); its postinstall did not run`);
  writeFileSync(join(root, MARKER), `${new Date().toISOString()}\n`);
  log(`code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return p;
}

/**
 * Locally, a missing machine part skips with a reason and the install command;
 * with CI=true it is a failure. Returns true when the caller should go on.
 */
export function checkParts(what: string): boolean {
  const missing = missingParts();
  if (!missing) return true;
  const msg = `${what}: missing ${missing}. Install with: ${APT_HINT}`;
  if (isCI) {
    console.error(`FAIL ${msg}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(`skipped: ${msg}`);
  console.log('0 passed, 0 failed, 1 skipped');
  return false;
}
