/**
 * Starting the VS Code server (or code-server) with private data folders, and a headless Chromium
 * through playwright-core. Everything started here is killed by cleanupAll() (see processes.ts).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import type { CodeServerInstall } from './code-server.js';
import { freePort, killGroup, onCleanup, startProcess, waitForHttp, type Started } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Server {
  port: number;
  origin: string;
  /** Private folders: user data, server data, extensions, logs. */
  dirs: { root: string; userData: string; serverData: string; extensions: string };
  proc: Started;
  logFile: string;
}

/** Private temporary folders for one server; removed by cleanupAll() unless `keep`. */
export function makeDirs(prefix: string, keep = false): Server['dirs'] {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dirs = {
    root,
    userData: join(root, 'user-data'),
    serverData: join(root, 'server-data'),
    extensions: join(root, 'extensions'),
  };
  for (const d of [dirs.userData, dirs.serverData, dirs.extensions]) mkdirSync(d, { recursive: true });
  if (!keep) onCleanup(() => rmSync(root, { recursive: true, force: true }));
  return dirs;
}

/**
 * The VS Code server inside the code-server package, started directly (its payload URL parameter
 * is honoured there: extensionDevelopmentPath / extensionTestsPath).
 */
export async function startVSCodeServer(
  cs: CodeServerInstall,
  opts: { dirs: Server['dirs']; env?: NodeJS.ProcessEnv; trust?: boolean; port?: number; host?: string },
): Promise<Server> {
  const port = opts.port ?? (await freePort());
  const host = opts.host ?? '127.0.0.1';
  const logFile = join(opts.dirs.root, 'server.log');
  const argv = [
    process.execPath,
    cs.serverMain,
    '--host',
    host,
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--extensions-dir',
    opts.dirs.extensions,
    '--user-data-dir',
    opts.dirs.userData,
    '--server-data-dir',
    opts.dirs.serverData,
    '--disable-telemetry',
  ];
  if (opts.trust !== false) argv.push('--disable-workspace-trust');
  const proc = startProcess(argv, { env: { ...process.env, ...opts.env }, logFile });
  let alive = true;
  void proc.exited.then(() => (alive = false));
  const origin = `http://${host}:${port}`;
  try {
    await waitForHttp(`${origin}/version`, 60_000, () => alive);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- server output ---\n${proc.output().slice(-3000)}`);
  }
  return { port, origin, dirs: opts.dirs, proc, logFile };
}

/** code-server's own CLI (`--auth none`), the way users run it: extensions come from the extensions dir. */
export async function startCodeServer(
  cs: CodeServerInstall,
  opts: { dirs: Server['dirs']; env?: NodeJS.ProcessEnv; folder?: string },
): Promise<Server> {
  const port = await freePort();
  const logFile = join(opts.dirs.root, 'code-server.log');
  const argv = [
    process.execPath,
    cs.cli,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--extensions-dir',
    opts.dirs.extensions,
    '--user-data-dir',
    opts.dirs.userData,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
  ];
  if (opts.folder) argv.push(opts.folder);
  const proc = startProcess(argv, {
    env: {
      ...process.env,
      ...opts.env,
      XDG_DATA_HOME: join(opts.dirs.root, 'xdg-data'),
      XDG_CONFIG_HOME: join(opts.dirs.root, 'xdg-config'),
    },
    logFile,
  });
  let alive = true;
  void proc.exited.then(() => (alive = false));
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${origin}/healthz`, 60_000, () => alive);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- code-server output ---\n${proc.output().slice(-3000)}`);
  }
  return { port, origin, dirs: opts.dirs, proc, logFile };
}

export interface BrowserHandle {
  server: BrowserServer;
  browser: Browser;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Headless Debian Chromium, launched as a BrowserServer so that its process can be killed for sure. */
export async function launchChromium(): Promise<BrowserHandle> {
  const server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const pid = server.process().pid;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await browser.close();
    } catch {
      // already gone
    }
    try {
      await server.close();
    } catch {
      // already gone
    }
    // playwright starts Chromium in its own process group: make sure the whole group is gone.
    if (pid !== undefined) await killGroup(pid, 5000);
  };
  onCleanup(close);
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    server,
    browser,
    newPage: async () => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      return context.newPage();
    },
    close,
  };
}

/** The workbench URL of a folder on the server (optionally with a payload). */
export function workbenchUrl(origin: string, folder: string | undefined, payload?: Array<[string, string]>): string {
  const params = new URLSearchParams();
  // A multi-root workspace opens from its .code-workspace file.
  if (folder) params.set(folder.endsWith('.code-workspace') ? 'workspace' : 'folder', folder);
  if (payload) params.set('payload', JSON.stringify(payload));
  const q = params.toString();
  return `${origin}/${q ? `?${q}` : ''}`;
}

/** `vscode-remote://host:port/abs/path`, the form the payload wants for server-side paths. */
export function remoteUri(server: Server, absPath: string): string {
  return `vscode-remote://127.0.0.1:${server.port}${absPath}`;
}
