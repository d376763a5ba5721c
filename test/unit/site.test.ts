/**
 * The site resolver (core/stack/site): one test per rule of precedence (stanza, PGDATA, config,
 * OS user, folders), the sources it reports, and readSite's gathering on a real infra folder with a
 * stand-in runtime (no processes). The last block holds the disagreements of issue 13 that the
 * backups targets, the restore setup and clean start used to answer differently.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PGDATA, readSite, resolveSite, stanzasOfJobs, type SiteInputs } from '../../src/core/stack/site';
import { stackBackupTargets } from '../../src/core/backups/targets';
import { confSections, userSetting } from '../../src/core/backups/restore/recovery-speed';
import { readStack, type StackConfig } from '../../src/core/infra';
import type { ToolRunResult, ToolRuntime } from '../../src/core/runtime';

const conf = (...sections: [string, Record<string, string>][]) =>
  sections
    .map(
      ([n, kv]) =>
        `[${n}]\n${Object.entries(kv)
          .map(([k, v]) => `${k}=${v}\n`)
          .join('')}`,
    )
    .join('\n');
const GLOBAL: [string, Record<string, string>] = ['global', { 'repo1-path': '/var/lib/pgbackrest' }];

function site(over: Partial<SiteInputs> & { text?: string } = {}) {
  const { text, ...rest } = over;
  return resolveSite({
    stack: { backupsDir: '/infra/backups' },
    runtime: 'container',
    toolEnvFrom: 'container db-1',
    conf: text === undefined ? undefined : { file: '/etc/pgbackrest/pgbackrest.conf', text, from: 'test' },
    ...rest,
  });
}
const jobs = (...stanzas: string[]) =>
  stanzas.map((s, i) => ({ job: `job${i}`, command: `pgbackrest --stanza=${s} --type=full backup` }));

describe('site resolver: stanza', () => {
  const two = conf(GLOBAL, ['main', {}], ['poddb', {}]);

  it('1. the setting wins over every other source', () => {
    const s = site({
      settings: { stanza: ' mine ' },
      jobCommands: jobs('main'),
      text: conf(GLOBAL, ['main', {}]),
      toolEnv: { PGBACKREST_STANZA: 'main' },
    });
    assert.equal(s.stanza, 'mine');
  });

  it('2. else the stanza the Ofelia job commands name with --stanza= when they agree', () => {
    assert.equal(site({ jobCommands: jobs('poddb', 'poddb'), text: conf(GLOBAL, ['main', {}]) }).stanza, 'poddb');
    assert.deepEqual(
      stanzasOfJobs([
        { job: 'a', command: '/usr/bin/pgbackrest --stanza poddb backup' },
        { job: 'b', command: 'pg_dump --stanza=x' },
      ]),
      new Map([['poddb', ['a']]]),
      'the space form counts; a command that is not pgbackrest does not',
    );
  });

  it('2b. Ofelia jobs that disagree are not used (the next rule answers) and both are listed', () => {
    const s = site({ jobCommands: jobs('a', 'b'), text: conf(GLOBAL, ['main', {}]) });
    assert.equal(s.stanza, 'main');
    const fromJobs = s.sources.filter((x) => x.field === 'stanza' && /Ofelia/.test(x.from));
    assert.deepEqual(
      fromJobs.map((x) => [x.value, x.used]),
      [
        ['a', false],
        ['b', false],
      ],
    );
    assert.match(fromJobs[0]!.from, /disagree/);
  });

  it('3. else the only stanza section of the config in effect (global sections do not count)', () => {
    assert.equal(site({ text: conf(GLOBAL, ['global:archive-push', {}], ['main', {}]) }).stanza, 'main');
  });

  it("4. else the tools' PGBACKREST_STANZA, but only when the config has that section", () => {
    assert.equal(site({ text: two, toolEnv: { PGBACKREST_STANZA: 'poddb' } }).stanza, 'poddb');
    const s = site({ text: conf(GLOBAL, ['db', {}], ['main', {}]), toolEnv: { PGBACKREST_STANZA: 'poddb' } });
    assert.equal(s.stanza, 'db', 'the image sets poddb but the config has no [poddb]');
    assert.match(s.sources.find((x) => x.value === 'poddb')!.from, /no \[poddb\] in the config/);
  });

  it('5. else db', () => {
    assert.equal(site().stanza, 'db');
    assert.equal(site({ text: two }).stanza, 'db');
  });
});

describe('site resolver: PGDATA, config, folders, user', () => {
  it('PGDATA 1. pg1-path of the resolved stanza (not of another section)', () => {
    const text = conf(GLOBAL, ['main', { 'pg1-path': '/data/main' }], ['other', { 'pg1-path': '/data/other' }]);
    const s = site({ text, settings: { stanza: 'main' }, toolEnv: { PGDATA: '/env/data' } });
    assert.equal(s.dataDir, '/data/main');
  });

  it("PGDATA 2. else the tools' PGDATA", () => {
    assert.equal(site({ text: conf(GLOBAL, ['main', {}]), toolEnv: { PGDATA: '/env/data' } }).dataDir, '/env/data');
  });

  it('PGDATA 3. else /home/postgres/pgdata/data', () => {
    assert.equal(site().dataDir, DEFAULT_PGDATA);
    assert.equal(DEFAULT_PGDATA, '/home/postgres/pgdata/data');
  });

  it('config 1. the setting (also passed as --config)', () => {
    const s = site({
      settings: { pgbackrestConfig: '/etc/mine.conf' },
      toolEnv: { PGBACKREST_CONFIG: '/env/pgbackrest.conf' },
    });
    assert.equal(s.configFile, '/etc/mine.conf');
    assert.equal(s.configOption, '/etc/mine.conf');
  });

  it("config 2. else the tools' PGBACKREST_CONFIG (not passed: pgBackRest reads it itself)", () => {
    const s = site({ toolEnv: { PGBACKREST_CONFIG: '/env/pgbackrest.conf' } });
    assert.equal(s.configFile, '/env/pgbackrest.conf');
    assert.equal(s.configOption, undefined);
  });

  it("config 3. else pgBackRest's default", () => {
    assert.equal(site().configFile, '/etc/pgbackrest/pgbackrest.conf');
    assert.equal(site().configOption, undefined);
  });

  it('manual_backup: on this machine under the backups folder; in the container under its mount', () => {
    const stack = {
      backupsDir: '/infra/backups',
      dbService: {
        volumes: [{ type: 'bind', source: '/infra/backups', target: '/srv/backups', readOnly: false }],
      } as unknown as StackConfig['dbService'],
    };
    const c = site({ stack });
    assert.equal(c.manualHostDir, '/infra/backups/manual_backup');
    assert.equal(c.manualRuntimeDir, '/srv/backups/manual_backup');
    assert.equal(site().manualRuntimeDir, '/var/lib/pgbackrest/manual_backup', 'the guide’s mount by default');
    const h = site({ stack, runtime: 'host', processUser: { uid: 1000, name: 'dev' } });
    assert.equal(h.manualRuntimeDir, '/infra/backups/manual_backup');
  });

  it('OS user: postgres in the container; on this machine postgres when VS Code is root, else its own user', () => {
    assert.equal(site().toolUser, 'postgres');
    assert.equal(site().runAs, undefined, 'docker exec runs as postgres by default');
    const root = site({ runtime: 'host', processUser: { uid: 0, name: 'root' } });
    assert.deepEqual([root.toolUser, root.runAs], ['postgres', 'postgres']);
    const dev = site({ runtime: 'host', processUser: { uid: 1000, name: 'dev' } });
    assert.deepEqual([dev.toolUser, dev.runAs], ['dev', undefined]);
  });

  it('lists every source it looked at, the used one first-marked, so the UI can show them', () => {
    const s = site({
      settings: { stanza: 'mine' },
      jobCommands: jobs('main'),
      text: conf(GLOBAL, ['main', { 'pg1-path': '/data/main' }]),
      toolEnv: { PGBACKREST_STANZA: 'main', PGDATA: '/env/data', PGBACKREST_CONFIG: '/env/pgbackrest.conf' },
    });
    const of = (f: string) => s.sources.filter((x) => x.field === f).map((x) => [x.value, x.used]);
    assert.deepEqual(of('stanza'), [
      ['mine', true],
      ['main', false],
      ['main', false],
      ['main', false],
      ['db', false],
    ]);
    assert.deepEqual(
      of('pgdata'),
      [
        ['/env/data', true],
        [DEFAULT_PGDATA, false],
      ],
      'the config has no [mine] section: no pg1-path for it',
    );
    assert.deepEqual(
      s.sources.filter((x) => x.field === 'stanza').map((x) => x.from),
      [
        'setting tsdbOps.backups.stanza',
        '--stanza= of Ofelia job job0',
        'section [main] of /etc/pgbackrest/pgbackrest.conf',
        'PGBACKREST_STANZA of container db-1',
        'default',
      ],
    );
  });
});

/** A container runtime stand-in: its environment, and `cat` of files that are not mounted from this machine. */
class FakeContainer implements ToolRuntime {
  readonly kind = 'container' as const;
  readonly description = 'container fake-db-1';
  constructor(
    private readonly env: Record<string, string>,
    private readonly files: Record<string, string> = {},
  ) {}
  environment(): Promise<Record<string, string>> {
    return Promise.resolve({ ...this.env });
  }
  run(argv: readonly string[]): Promise<ToolRunResult> {
    const text = argv[0] === 'cat' ? this.files[argv[1]!] : undefined;
    return Promise.resolve(
      text === undefined
        ? { exitCode: 1, stdoutLines: [], stderrTail: [`cat: ${argv[1]}: No such file or directory`] }
        : { exitCode: 0, stdoutLines: text.split('\n'), stderrTail: [] },
    );
  }
}

const IMAGE_ENV = {
  PGDATA: '/home/postgres/pgdata/data',
  PGBACKREST_CONFIG: '/home/postgres/pgdata/backup/pgbackrest.conf',
  PGBACKREST_STANZA: 'poddb',
};

describe('site resolver: readSite and the callers on an infra folder', () => {
  let dir: string;
  let stack: StackConfig;

  async function infra(pgbackrestConf: string, labels = ''): Promise<StackConfig> {
    writeFileSync(join(dir, 'pgbackrest.conf'), pgbackrestConf);
    writeFileSync(
      join(dir, 'docker-compose.yaml'),
      [
        'services:',
        '  timescaledb:',
        '    image: timescale/timescaledb-ha:pg15-ts2.10',
        '    environment:',
        '      PGBACKREST_STANZA: fromcompose',
        '    volumes:',
        '      - ./pgdata:/home/postgres/pgdata',
        '      - ./pgbackrest.conf:/home/postgres/pgdata/backup/pgbackrest.conf:ro',
        '      - ./backups:/var/lib/pgbackrest',
        ...(labels ? ['    labels:', labels] : []),
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, '.env'), 'POSTGRES_USER=admin\nPOSTGRES_PASSWORD=pw\n');
    return readStack({ workspaceFolder: dir }, dir, join(dir, 'docker-compose.yaml'));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-site-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the config where the container finds it (PGBACKREST_CONFIG, bind-mounted from the infra)', async () => {
    stack = await infra(conf(GLOBAL, ['main', { 'pg1-path': '/home/postgres/pgdata/main' }]));
    const s = await readSite(stack, { runtime: new FakeContainer(IMAGE_ENV) });
    assert.deepEqual(
      [s.stanza, s.dataDir, s.configFile],
      ['main', '/home/postgres/pgdata/main', IMAGE_ENV.PGBACKREST_CONFIG],
    );
    assert.ok(
      s.sources.some((x) => x.from.includes(join(dir, 'pgbackrest.conf'))),
      'says which host file it read',
    );
  });

  it('reads a config that is not mounted inside the container', async () => {
    stack = await infra('');
    const rt = new FakeContainer({}, { '/etc/pgbackrest.conf': conf(GLOBAL, ['inside', {}]) });
    const s = await readSite(stack, { runtime: rt });
    assert.deepEqual([s.stanza, s.configFile], ['inside', '/etc/pgbackrest.conf'], 'the older default location');
  });

  it('the Ofelia jobs of the compose file name the stanza', async () => {
    stack = await infra(
      conf(GLOBAL, ['main', {}], ['ofelia', {}]),
      '      ofelia.job-exec.full.schedule: "@daily"\n      ofelia.job-exec.full.command: "pgbackrest --stanza=ofelia --type=full backup"',
    );
    assert.equal((await readSite(stack, { runtime: new FakeContainer(IMAGE_ENV) })).stanza, 'ofelia');
  });

  it('without a running container: the compose environment and the infra’s pgbackrest.conf', async () => {
    stack = await infra(conf(GLOBAL, ['fromcompose', {}], ['other', {}]));
    const s = await readSite(stack, { settings: { runtime: 'container' } });
    assert.equal(s.stanza, 'fromcompose');
    assert.ok(s.sources.some((x) => /service timescaledb/.test(x.from)));
  });

  describe('disagreements that issue 13 found (each failed before the resolver)', () => {
    it("PGDATA: the backups targets take the container's PGDATA like the restore setup (no pg1-path in the config)", async () => {
      stack = await infra(conf(GLOBAL, ['main', { 'pg1-port': '5432' }]));
      const env = { ...IMAGE_ENV, PGDATA: '/home/postgres/pgdata/elsewhere' };
      const t = await stackBackupTargets(stack, new FakeContainer(env));
      assert.equal(t.dataDir, '/home/postgres/pgdata/elsewhere');
    });

    it("stanza: the backups targets honour the container's PGBACKREST_STANZA when the config has that section, as clean start does", async () => {
      stack = await infra(conf(GLOBAL, ['db', {}], ['poddb', {}]));
      const t = await stackBackupTargets(stack, new FakeContainer(IMAGE_ENV));
      assert.equal(t.pgbackrest.stanza, 'poddb');
    });
  });
});

describe('site resolver: the config include folder (conf.d), as pgBackRest reads it', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-site-inc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function infra(includeMount: string): Promise<StackConfig> {
    writeFileSync(join(dir, 'pgbackrest.conf'), conf(GLOBAL, ['main', {}]));
    mkdirSync(join(dir, 'conf.d'));
    // A user's speed settings kept in conf.d: pgBackRest adds every *.conf there, sorted by name.
    writeFileSync(join(dir, 'conf.d', '20-speed.conf'), conf(['global:archive-get', { 'process-max': '3' }]));
    writeFileSync(join(dir, 'conf.d', '10-async.conf'), conf(['global', { 'archive-async': 'y' }]));
    writeFileSync(join(dir, 'conf.d', 'notes.txt'), conf(['global', { 'process-max': '9' }]));
    writeFileSync(
      join(dir, 'docker-compose.yaml'),
      [
        'services:',
        '  timescaledb:',
        '    image: timescale/timescaledb-ha:pg15-ts2.10',
        '    volumes:',
        '      - ./pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf:ro',
        `      - ./conf.d:${includeMount}:ro`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, '.env'), 'POSTGRES_USER=admin\nPOSTGRES_PASSWORD=pw\n');
    return readStack({ workspaceFolder: dir }, dir, join(dir, 'docker-compose.yaml'));
  }
  const speed = (text: string | undefined) => {
    const sections = confSections(text ?? '');
    return [
      userSetting(sections, {}, 'main', ['archive-get', 'restore'], 'process-max'),
      userSetting(sections, {}, 'main', ['archive-get', 'restore'], 'archive-async'),
    ];
  };

  it('the default config path: conf.d/*.conf count as the user’s settings (and other files do not)', async () => {
    const stack = await infra('/etc/pgbackrest/conf.d');
    const s = await readSite(stack, { runtime: new FakeContainer({ PGDATA: DEFAULT_PGDATA }) });
    assert.deepEqual(speed(s.conf), [
      { value: '3', where: '[global:archive-get]' },
      { value: 'y', where: '[global]' },
    ]);
    assert.ok(
      s.sources.some((x) => x.from.includes('2 file(s) of /etc/pgbackrest/conf.d')),
      JSON.stringify(s.sources),
    );
  });

  it('PGBACKREST_CONFIG named: pgBackRest skips conf.d, and so does the site', async () => {
    const stack = await infra('/etc/pgbackrest/conf.d');
    const env = { PGDATA: DEFAULT_PGDATA, PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf' };
    const s = await readSite(stack, { runtime: new FakeContainer(env) });
    assert.deepEqual(speed(s.conf), [undefined, undefined]);
  });

  it('PGBACKREST_CONFIG_INCLUDE_PATH names another folder: that one is read, even with PGBACKREST_CONFIG', async () => {
    const stack = await infra('/config/extra');
    const env = {
      PGDATA: DEFAULT_PGDATA,
      PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf',
      PGBACKREST_CONFIG_INCLUDE_PATH: '/config/extra',
    };
    const s = await readSite(stack, { runtime: new FakeContainer(env) });
    assert.deepEqual(speed(s.conf)[0], { value: '3', where: '[global:archive-get]' });
  });
});
