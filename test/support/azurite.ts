/**
 * azurite (the Azure storage emulator) as a pgBackRest object-store repository, offline and over TLS:
 * installed on demand into `<cache>/azurite-<version>` with npm (about 360 MB, so not a devDependency,
 * like test/support/squawk.ts), a self-signed certificate made with openssl, the blob service on a free
 * port of one address, and the blob container created with a SharedKey-signed PUT from Node's https
 * (pgBackRest's stanza-create needs it to exist). `stop()` and `start()` make the repository unreachable
 * and reachable again on the same port and data; `close()` ends it and removes its files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { cacheDir } from './docker';
import { registerCleanup } from './cleanup';
import { freePort, run } from './proc';
import { which } from './requirements';

export const AZURITE_VERSION = '3.37.0';
/** azurite's well-known development account and key (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function opensslAvailable(): boolean {
  return which('openssl') !== undefined;
}
export const opensslInstallHint = 'apt-get install -y openssl';

/** The azurite-blob binary, installing `azurite@AZURITE_VERSION` into the cache first if needed. */
export function ensureAzurite(log: (line: string) => void = console.log): string {
  const dir = join(cacheDir(), `azurite-${AZURITE_VERSION}`);
  const bin = join(dir, 'node_modules', '.bin', 'azurite-blob');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`      installing azurite@${AZURITE_VERSION} into ${dir}…`);
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `azurite@${AZURITE_VERSION}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
  );
  if (!existsSync(bin)) throw new Error(`npm installed azurite into ${dir} but ${bin} is missing`);
  return bin;
}

export interface Azurite {
  readonly host: string;
  readonly port: number;
  readonly account: string;
  readonly key: string;
  /** The folder of the certificate and the data (readable by every user: pgBackRest runs as postgres). */
  readonly dir: string;
  /** Creates a blob container (idempotent). */
  createContainer(name: string): Promise<void>;
  /** Ends the server (the repository becomes unreachable); data kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Ends it and removes its files. */
  close(): Promise<void>;
}

/** Starts azurite-blob over TLS on `host` (default 127.0.0.1), with a certificate for that address. */
export async function startAzurite(opts: { host?: string } = {}): Promise<Azurite> {
  const host = opts.host ?? '127.0.0.1';
  const bin = ensureAzurite();
  const dir = mkdtempSync('/tmp/tsdbops-azurite-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${host}`,
    '-addext',
    `subjectAltName=IP:${host}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const c = spawn(
      process.execPath,
      [
        bin,
        '--blobHost',
        host,
        '--blobPort',
        String(port),
        '--location',
        join(dir, 'data'),
        '--cert',
        cert,
        '--key',
        key,
        '--skipApiVersionCheck',
        '--loose',
        '--disableProductStyleUrl',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`azurite did not start in 60 s: ${out}`)), 60_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/successfully listens/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', onData);
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`azurite exited with ${code}: ${out}`));
      });
    });
    c.stdout!.resume();
    c.stderr!.resume();
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
    });
  };
  const unregister = registerCleanup({
    name: `azurite ${host}:${port}`,
    run: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    runSync: () => {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  });
  await start();

  const createContainer = (name: string): Promise<void> => {
    const date = new Date().toUTCString();
    const version = '2021-08-06';
    const path = `/${AZURITE_ACCOUNT}/${name}`;
    const toSign = [
      'PUT',
      ...Array<string>(11).fill(''),
      `x-ms-date:${date}\nx-ms-version:${version}`,
      `/${AZURITE_ACCOUNT}${path}\nrestype:container`,
    ].join('\n');
    const sig = createHmac('sha256', Buffer.from(AZURITE_KEY, 'base64')).update(toSign, 'utf8').digest('base64');
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host,
          port,
          method: 'PUT',
          path: `${path}?restype=container`,
          rejectUnauthorized: false, // the self-signed certificate made above
          headers: {
            'x-ms-date': date,
            'x-ms-version': version,
            'Content-Length': 0,
            Authorization: `SharedKey ${AZURITE_ACCOUNT}:${sig}`,
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () =>
            res.statusCode === 201 || res.statusCode === 409
              ? resolve()
              : reject(new Error(`creating blob container ${name}: HTTP ${res.statusCode} ${body.slice(0, 300)}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  };

  return {
    host,
    port,
    account: AZURITE_ACCOUNT,
    key: AZURITE_KEY,
    dir,
    createContainer,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      unregister();
    },
  };
}
