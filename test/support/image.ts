/**
 * The test images, built without any registry and cached:
 *  1. a base image imported from a debootstrap'ed Debian bookworm (minbase + postgresql-15 +
 *     pgbackrest); the root file system tarball is cached in `${cacheDir}/rootfs/`;
 *  2. `tsdb-ops-test/timescaledb-ha:pg15`, shaped like timescale/timescaledb-ha:pg15-ts2.10
 *     (recipe: test/support/image/timescaledb-ha);
 *  3. `tsdb-ops-test/ofelia-standin:latest`, a STAND-IN for mcuadros/ofelia, which cannot be
 *     pulled here (recipe: test/support/image/ofelia-standin).
 * Every image carries the label `tsdb-ops.recipe` = hash of the recipe files; an image is
 * rebuilt only when that hash changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cacheDir, ensureDocker } from './docker';
import { isRoot, run } from './proc';
import { which } from './requirements';
import { supportDir } from './paths';

export const TIMESCALEDB_TEST_IMAGE = 'tsdb-ops-test/timescaledb-ha:pg15';
export const OFELIA_STANDIN_IMAGE = 'tsdb-ops-test/ofelia-standin:latest';
export const RECIPE_LABEL = 'tsdb-ops.recipe';

const RECIPE_DIR = join(supportDir(), 'image');
const SUITE = 'bookworm';
// procps: the real timescaledb-ha image ships it (ps, pkill); the extension never needs it (it signals with the shell's kill).
const INCLUDE = ['postgresql-15', 'pgbackrest', 'procps'];
const IMPORT_PATH = 'PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function debootstrapAvailable(): boolean {
  return isRoot && which('debootstrap', ['/usr/sbin']) !== undefined;
}
export const debootstrapInstallHint = 'apt-get install -y debootstrap (the image build runs as root)';

/** The Debian mirror apt uses on this machine (first URIs: / deb line), else deb.debian.org. */
export function debianMirror(): string {
  if (process.env.TSDB_OPS_DEBIAN_MIRROR) return process.env.TSDB_OPS_DEBIAN_MIRROR;
  const candidates = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const f of candidates) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const uris =
      /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+/m.exec(text);
    if (uris?.[1]) return uris[1];
  }
  return 'http://deb.debian.org/debian';
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

function hashOf(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Hash of the base recipe (debootstrap arguments). */
export function baseHash(): string {
  return hashOf(['debootstrap', '--variant=minbase', SUITE, ...INCLUDE, IMPORT_PATH]);
}

/** Hash of everything an image depends on: the base recipe plus its own recipe folder. */
export function recipeHash(sub: 'timescaledb-ha' | 'ofelia-standin'): string {
  const dir = join(RECIPE_DIR, sub);
  const parts = [baseHash()];
  for (const f of listFiles(dir)) {
    const st = statSync(f);
    parts.push(relative(dir, f), st.mode & 0o111 ? 'x' : '-', readFileSync(f, 'utf8'));
  }
  return hashOf(parts);
}

async function imageLabel(image: string, env: Record<string, string>): Promise<string | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${RECIPE_LABEL}"}}`, image], {
    env,
    reject: false,
  });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

function log(msg: string): void {
  if (process.env.TSDB_OPS_QUIET !== '1') console.log(`      [image] ${msg}`);
}

/** The debootstrap root file system tarball (cached). */
async function rootfsTarball(): Promise<string> {
  const dir = join(cacheDir(), 'rootfs');
  const tarball = join(dir, `${SUITE}-${baseHash()}.tar`);
  if (existsSync(tarball)) return tarball;
  if (!debootstrapAvailable()) throw new Error(`cannot build the base image: ${debootstrapInstallHint}`);
  mkdirSync(dir, { recursive: true });
  const root = join(dir, `build-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const t0 = Date.now();
  log(`debootstrap ${SUITE} from ${debianMirror()} (about a minute)…`);
  try {
    await run(
      which('debootstrap', ['/usr/sbin']) ?? 'debootstrap',
      ['--variant=minbase', `--include=${INCLUDE.join(',')}`, SUITE, root, debianMirror()],
      { timeoutMs: 600_000 },
    );
    // Keep the tarball small: drop downloaded .debs, apt lists, docs and man pages.
    for (const p of [
      'var/cache/apt/archives',
      'var/lib/apt/lists',
      'usr/share/doc',
      'usr/share/man',
      'usr/share/info',
    ]) {
      rmSync(join(root, p), { recursive: true, force: true });
      mkdirSync(join(root, p), { recursive: true });
    }
    const tmp = `${tarball}.tmp`;
    await run('tar', ['--numeric-owner', '-C', root, '-cf', tmp, '.'], { timeoutMs: 300_000 });
    renameSync(tmp, tarball);
    log(`rootfs tarball ready in ${Math.round((Date.now() - t0) / 1000)} s`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tarball;
}

async function ensureBase(env: Record<string, string>): Promise<string> {
  const tag = `tsdb-ops-test/debian-base:${SUITE}-${baseHash()}`;
  if ((await imageLabel(tag, env)) !== undefined) return tag;
  const tarball = await rootfsTarball();
  const t0 = Date.now();
  await run(
    'docker',
    ['import', '-c', `ENV ${IMPORT_PATH}`, '-c', `LABEL ${RECIPE_LABEL}=${baseHash()}`, tarball, tag],
    {
      env,
      timeoutMs: 300_000,
    },
  );
  log(`imported ${tag} in ${Math.round((Date.now() - t0) / 1000)} s`);
  return tag;
}

async function build(
  image: string,
  sub: 'timescaledb-ha' | 'ofelia-standin',
  base: string,
  env: Record<string, string>,
): Promise<void> {
  const hash = recipeHash(sub);
  const t0 = Date.now();
  await run(
    'docker',
    [
      'build',
      '-q',
      '--build-arg',
      `BASE=${base}`,
      '--label',
      `${RECIPE_LABEL}=${hash}`,
      '-t',
      image,
      join(RECIPE_DIR, sub),
    ],
    { env: { ...env, DOCKER_BUILDKIT: '0' }, timeoutMs: 300_000 },
  );
  log(`built ${image} (${hash}) in ${Math.round((Date.now() - t0) / 1000)} s`);
}

export interface TestImages {
  timescaledb: string;
  ofelia: string;
}

let ensured: Promise<TestImages> | undefined;

/**
 * Makes sure both test images exist with the current recipe hash (builds them if not).
 * Needs a Docker engine (ensureDocker() is called and released here; the engine stays up while
 * the caller holds its own handle). Cold: debootstrap + import + build; warm: two inspects.
 */
export function ensureTestImages(): Promise<TestImages> {
  ensured ??= (async () => {
    const docker = await ensureDocker();
    try {
      const env = docker.env;
      const t0 = Date.now();
      const wanted: [string, 'timescaledb-ha' | 'ofelia-standin'][] = [
        [TIMESCALEDB_TEST_IMAGE, 'timescaledb-ha'],
        [OFELIA_STANDIN_IMAGE, 'ofelia-standin'],
      ];
      const stale: typeof wanted = [];
      for (const w of wanted) {
        if ((await imageLabel(w[0], env)) !== recipeHash(w[1])) stale.push(w);
      }
      if (stale.length > 0) {
        const base = await ensureBase(env);
        for (const [image, sub] of stale) await build(image, sub, base, env);
        // Drop images left untagged by a rebuild.
        await run('docker', ['image', 'prune', '-f', '--filter', `label=${RECIPE_LABEL}`], { env, reject: false });
        log(`test images built in ${Math.round((Date.now() - t0) / 1000)} s`);
      } else {
        log(`test images up to date (checked in ${Date.now() - t0} ms)`);
      }
      return { timescaledb: TIMESCALEDB_TEST_IMAGE, ofelia: OFELIA_STANDIN_IMAGE };
    } finally {
      await docker.stop();
    }
  })();
  ensured.catch(() => {
    ensured = undefined;
  });
  return ensured;
}
