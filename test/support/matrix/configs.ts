/**
 * The configuration matrix's stacks (issue 25, item 5): the real-world configurations the stack context
 * must answer for, each a compose stack on the test engine started the guide's way (startStack:
 * clean_start.sh, stanza-create, check). Three stacks serve six configurations:
 *  - stack A: (a) the guide's compose with PGBACKREST_CONFIG=/etc/pgbackrest/pgbackrest.conf (mounted) on an
 *    image whose /etc/pgbackrest.conf is another file, unreadable by postgres (debian-etc/Dockerfile); and
 *    (f) the same stack reached through an ssh:// engine;
 *  - stack B: (b) the real image's layout (config in the pgdata volume, /etc/pgbackrest.conf a link to it,
 *    PGBACKREST_STANZA=poddb while the jobs say --stanza=db); and (e) the extension's settings pointing at a
 *    second config (/etc/pgbackrest-e/pgbackrest.conf, stanza e) whose stanza the server also archives to;
 *  - stack CD: (c) POSTGRES_USER=ops_owner, POSTGRES_DB=app_data and (d) PGDATA=/home/postgres/pgdata/cluster15,
 *    one stack and one row: every operation there depends on both.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ensureDocker } from '../docker';
import { ensureTestImages, recipeHash, RECIPE_LABEL, TIMESCALEDB_TEST_IMAGE } from '../image';
import { supportDir } from '../paths';
import { run } from '../proc';
import { startStack, type Stack } from '../stack';

const MATRIX_DIR = join(supportDir(), 'matrix');
export const DEBIAN_ETC_IMAGE = 'tsdb-ops-test/timescaledb-ha-debian-etc:pg15';

export type StackKey = 'A' | 'B' | 'CD';
export type ConfigId = 'a' | 'b' | 'c+d' | 'e' | 'f';

/** What the extension's settings say for a configuration (tsdbOps.backups.*, tsdbOps.docker.host). */
export interface MatrixSettings {
  readonly stanza?: string;
  readonly pgbackrestConfig?: string;
  /** `tsdbOps.docker.host` (with the SSH key and known_hosts settings). */
  readonly dockerHost?: string;
  readonly sshKeyFile?: string;
  readonly knownHostsFile?: string;
}

export interface MatrixConfig {
  readonly id: ConfigId;
  readonly title: string;
  readonly stack: StackKey;
  readonly settings: MatrixSettings;
  /** Where the backups of this configuration must land (checked with pgbackrest info, test side). */
  readonly expect: { readonly stanza: string; readonly config: string };
}

export const E_CONFIG = '/etc/pgbackrest-e/pgbackrest.conf';

export const CONFIGS: readonly MatrixConfig[] = [
  {
    id: 'a',
    title: 'guide compose: PGBACKREST_CONFIG=/etc/pgbackrest/pgbackrest.conf, /etc/pgbackrest.conf another file',
    stack: 'A',
    settings: {},
    expect: { stanza: 'db', config: '/etc/pgbackrest/pgbackrest.conf' },
  },
  {
    id: 'b',
    title:
      "image's layout: config in the pgdata volume, /etc/pgbackrest.conf a link, PGBACKREST_STANZA=poddb, jobs --stanza=db",
    stack: 'B',
    settings: {},
    expect: { stanza: 'db', config: '/home/postgres/pgdata/backup/pgbackrest.conf' },
  },
  {
    id: 'c+d',
    title: 'POSTGRES_USER=ops_owner, POSTGRES_DB=app_data; PGDATA=/home/postgres/pgdata/cluster15',
    stack: 'CD',
    settings: {},
    expect: { stanza: 'db', config: '/home/postgres/pgdata/backup/pgbackrest.conf' },
  },
  {
    id: 'e',
    title: `settings: tsdbOps.backups.pgbackrestConfig=${E_CONFIG}, tsdbOps.backups.stanza=e (on b's stack)`,
    stack: 'B',
    settings: { pgbackrestConfig: E_CONFIG, stanza: 'e' },
    expect: { stanza: 'e', config: E_CONFIG },
  },
  {
    id: 'f',
    title: "configuration (a) through an ssh:// engine (a's stack)",
    stack: 'A',
    settings: {},
    expect: { stanza: 'db', config: '/etc/pgbackrest/pgbackrest.conf' },
  },
];

/** Hash of the (a) image: the test image's recipe plus this layer's Dockerfile. */
function debianEtcHash(): string {
  return createHash('sha256')
    .update(recipeHash('timescaledb-ha'))
    .update('\0')
    .update(readFileSync(join(MATRIX_DIR, 'debian-etc', 'Dockerfile'), 'utf8'))
    .digest('hex')
    .slice(0, 16);
}

let imageBuilt: Promise<string> | undefined;

/** The (a) image: a layer on the test image, built once per recipe (label tsdb-ops.recipe). */
export function ensureDebianEtcImage(): Promise<string> {
  imageBuilt ??= (async () => {
    await ensureTestImages();
    const docker = await ensureDocker();
    try {
      const hash = debianEtcHash();
      const have = await run(
        'docker',
        ['image', 'inspect', '--format', `{{index .Config.Labels "${RECIPE_LABEL}"}}`, DEBIAN_ETC_IMAGE],
        { env: docker.env, reject: false },
      );
      if (have.exitCode !== 0 || have.stdout.trim() !== hash)
        await run(
          'docker',
          [
            'build',
            '-q',
            '--build-arg',
            `BASE=${TIMESCALEDB_TEST_IMAGE}`,
            '--label',
            `${RECIPE_LABEL}=${hash}`,
            '-t',
            DEBIAN_ETC_IMAGE,
            join(MATRIX_DIR, 'debian-etc'),
          ],
          { env: { ...docker.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 300_000 },
        );
      return DEBIAN_ETC_IMAGE;
    } finally {
      await docker.stop();
    }
  })();
  imageBuilt.catch(() => {
    imageBuilt = undefined;
  });
  return imageBuilt;
}

/** Replaces one exact text in a copied file, or fails naming it (the fixture changed under the matrix). */
function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`configuration matrix: ${file} no longer contains ${JSON.stringify(from)}`);
  writeFileSync(file, text.replace(from, to));
}

/** Copies a configuration's compose file and pgBackRest config(s) over the fixture's. */
function useFiles(sub: string, infraDir: string, names: readonly string[]): void {
  for (const n of names) cpSync(join(MATRIX_DIR, sub, n), join(infraDir, n));
}

/** Starts one of the matrix's stacks. */
export async function startMatrixStack(key: StackKey): Promise<Stack> {
  if (key === 'A') {
    const image = await ensureDebianEtcImage();
    return startStack({
      env: { TIMESCALEDB_IMAGE: image },
      prepare: (dir) => useFiles('a', dir, ['docker-compose.yaml', 'pgbackrest.conf']),
    });
  }
  if (key === 'B')
    return startStack({
      prepare: (dir) => {
        useFiles('b', dir, ['docker-compose.yaml', 'pgbackrest.conf', 'pgbackrest-e.conf']);
        // The server archives to the jobs' stanza (not PGBACKREST_STANZA=poddb, which no config has) and to
        // configuration (e)'s, so both stanzas have their WAL for latest-state and point-in-time restores.
        edit(
          join(dir, 'scripts', 'entrypoint.sh'),
          "archive_command = 'pgbackrest --stanza=$STANZA archive-push %p'",
          `archive_command = 'pgbackrest --stanza=db archive-push %p && pgbackrest --config=${E_CONFIG} --stanza=e archive-push %p'`,
        );
        edit(
          join(dir, 'scripts', 'clean_start.sh'),
          'docker exec "$cid" pgbackrest --stanza=db --log-level-console=info check',
          `docker exec "$cid" pgbackrest --config=${E_CONFIG} --stanza=e --log-level-console=info stanza-create\n` +
            'docker exec "$cid" pgbackrest --stanza=db --log-level-console=info check',
        );
      },
    });
  return startStack({
    env: { POSTGRES_USER: 'ops_owner', POSTGRES_DB: 'app_data' },
    prepare: (dir) => useFiles('cd', dir, ['docker-compose.yaml', 'pgbackrest.conf']),
  });
}
