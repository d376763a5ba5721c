/**
 * The stack context's precedence table (docs/architecture.md, "The stack context"): one test per row, in
 * the table's order. The rows resolved through the engine (config file, stanza, PGDATA) are answered by the
 * site resolver and have their own tests in site.test.ts; here their sources are checked as the context
 * reports them.
 */
import { strict as assert } from 'node:assert';
import type { StackConfig } from '../../src/core/infra';
import { resolveStack } from '../../src/core/stack/context';
import { restorePlaceOf, sourceKindOf } from '../../src/core/stack/resolve';
import { resolveSite, toolUserOf } from '../../src/core/stack/site';
import { maskConf, stanzaOfCommand } from '../../src/core/stack/pgbackrest-conf';

function stack(o: { svc?: Record<string, string>; env?: Partial<StackConfig['env']> } = {}): StackConfig {
  return {
    workspaceFolder: '/ws',
    infraDir: '/ws/infra',
    composeFile: '/ws/infra/docker-compose.yaml',
    envFile: '/ws/infra/.env',
    envFileExists: true,
    env: { raw: {}, lines: {}, ...o.env },
    projectName: 'p',
    dbService: { name: 'timescaledb', environment: o.svc ?? {}, volumes: [], ports: [] },
    backupsDir: '/ws/infra/backups',
    pgbackrestLogDir: '/ws/infra/logs/pgbackrest',
    ofeliaLogDir: '/ws/infra/logs/ofelia',
    problems: [],
  } as unknown as StackConfig;
}
const ctxOf = (s: StackConfig, settings = {}) => resolveStack(s, settings, {});

describe('stack context: where the tools run', () => {
  it('runtime 1. the setting tsdbOps.backups.runtime', () => {
    const r = ctxOf(stack(), { backups: { runtime: 'host' } }).runtimeKind;
    assert.deepEqual([r.value, r.source], ['host', 'setting']);
  });
  it('runtime 2. else the database container', () => {
    const r = ctxOf(stack()).runtimeKind;
    assert.deepEqual([r.value, r.source], ['container', 'default']);
  });
  it('physical restore: in place while PostgreSQL is not PID 1 of the running container', () => {
    assert.equal(restorePlaceOf({ name: 'db', running: true, postgresIsPid1: false }).value, 'in-place');
  });
  it('physical restore: a one-off container when PostgreSQL is PID 1, or the container is stopped', () => {
    const pid1 = restorePlaceOf({ name: 'db', running: true, postgresIsPid1: true });
    assert.equal(pid1.value, 'one-off');
    assert.match(pid1.from, /PID 1/);
    assert.match(restorePlaceOf({ name: 'db', running: false, postgresIsPid1: false }).from, /stopped/);
  });
});

describe('stack context: the OS user of the tools', () => {
  it('container 1. Config.User of the database container (not root)', () => {
    assert.equal(toolUserOf('container', undefined, { name: 'db', user: '1000' }).user, '1000');
    assert.equal(toolUserOf('container', undefined, { name: 'db', user: 'root' }).user, 'postgres');
  });
  it('container 2. else postgres', () => {
    assert.equal(toolUserOf('container', undefined, { name: 'db', user: '' }).user, 'postgres');
  });
  it('host 1. postgres when this program runs as root (runuser)', () => {
    assert.deepEqual(toolUserOf('host', { uid: 0, name: 'root' }), {
      user: 'postgres',
      runAs: 'postgres',
      from: 'VS Code runs as root: PostgreSQL tools refuse root',
    });
  });
  it("host 2. else this program's own user", () => {
    assert.equal(toolUserOf('host', { uid: 1000, name: 'dev' }).user, 'dev');
  });
});

describe('stack context: the connection', () => {
  it('user 1. POSTGRES_USER of the database service (what its container is given)', () => {
    const u = ctxOf(stack({ svc: { POSTGRES_USER: 'app' }, env: { user: 'other' } })).toolConnection.user;
    assert.deepEqual([u.value, u.source], ['app', 'compose']);
  });
  it('user 2. else POSTGRES_USER of the infra .env', () => {
    const u = ctxOf(stack({ env: { user: 'envuser' } })).toolConnection.user;
    assert.deepEqual([u.value, u.source], ['envuser', 'env-file']);
  });
  it('user 3. else postgres', () => {
    assert.equal(ctxOf(stack()).toolConnection.user.value, 'postgres');
  });
  it('database 1. POSTGRES_DB of the database service', () => {
    const d = ctxOf(stack({ svc: { POSTGRES_USER: 'app', POSTGRES_DB: 'tsdb' } })).toolConnection.database;
    assert.deepEqual([d.value, d.source], ['tsdb', 'compose']);
  });
  it('database 2. else POSTGRES_DB of the infra .env', () => {
    assert.equal(ctxOf(stack({ env: { database: 'fromenv' } })).toolConnection.database.value, 'fromenv');
  });
  it("database 3. else the user's name (as PostgreSQL's image creates it), never a second default", () => {
    const d = ctxOf(stack({ svc: { POSTGRES_USER: 'app' } })).toolConnection.database;
    assert.deepEqual([d.value, d.source], ['app', 'default']);
  });
  it('password 1. POSTGRES_PASSWORD of the service; 2. of the .env; 3. none', () => {
    assert.equal(ctxOf(stack({ svc: { POSTGRES_PASSWORD: 's1' } })).toolConnection.password.source, 'compose');
    assert.equal(ctxOf(stack({ env: { password: 's2' } })).toolConnection.password.source, 'env-file');
    assert.equal(ctxOf(stack()).toolConnection.password.value, undefined);
  });
  it('host runtime: host = setting tsdbOps.backups.host, else localhost', () => {
    assert.equal(ctxOf(stack(), { backups: { runtime: 'host', host: 'db.lan' } }).toolConnection.host?.value, 'db.lan');
    assert.equal(ctxOf(stack(), { backups: { runtime: 'host' } }).toolConnection.host?.value, 'localhost');
    assert.equal(ctxOf(stack()).toolConnection.host, undefined, 'the container runtime uses the socket');
  });
  it('host runtime: port = setting tsdbOps.backups.port, else POSTGRES_PORT of the .env, else 5432', () => {
    const host = { backups: { runtime: 'host' as const } };
    assert.equal(ctxOf(stack(), { backups: { runtime: 'host', port: 6543 } }).toolConnection.port?.value, 6543);
    assert.equal(ctxOf(stack({ env: { port: 15432 } }), host).toolConnection.port?.value, 15432);
    assert.equal(ctxOf(stack(), host).toolConnection.port?.value, 5432);
  });
  it('without an engine registry, what needs the engine says so (the compose facts still answer)', () => {
    assert.throws(() => ctxOf(stack()).engine(), /no engine registry/);
  });
});

describe('stack context: the pgBackRest config, as the context reports its sources', () => {
  const inputs = { stack: { backupsDir: '/b' }, runtime: 'container' as const, toolEnvFrom: 'container db-1' };
  it('config 1. the setting tsdbOps.backups.pgbackrestConfig', () => {
    const s = resolveSite({
      ...inputs,
      settings: { pgbackrestConfig: '/x.conf' },
      toolEnv: { PGBACKREST_CONFIG: '/y' },
    });
    const used = s.sources.find((x) => x.field === 'pgbackrestConfig' && x.used)!;
    assert.deepEqual([s.configFile, sourceKindOf(used.from)], ['/x.conf', 'setting']);
  });
  it("config 2. else PGBACKREST_CONFIG of the database container's environment", () => {
    const s = resolveSite({ ...inputs, toolEnv: { PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf' } });
    const used = s.sources.find((x) => x.field === 'pgbackrestConfig' && x.used)!;
    assert.deepEqual([s.configFile, sourceKindOf(used.from)], ['/etc/pgbackrest/pgbackrest.conf', 'container-env']);
  });
  it('config 3. else PGBACKREST_CONFIG of the compose service (container not inspected)', () => {
    const s = resolveSite({ ...inputs, toolEnvFrom: 'service db in /c.yaml', toolEnv: { PGBACKREST_CONFIG: '/c' } });
    const used = s.sources.find((x) => x.field === 'pgbackrestConfig' && x.used)!;
    assert.equal(sourceKindOf(used.from), 'compose');
  });
  it("config 4. else pgBackRest's default", () => {
    const s = resolveSite({ ...inputs, toolEnv: {} });
    const used = s.sources.find((x) => x.field === 'pgbackrestConfig' && x.used)!;
    assert.deepEqual([s.configFile, sourceKindOf(used.from)], ['/etc/pgbackrest/pgbackrest.conf', 'default']);
  });
  it('stanza from an Ofelia job and PGDATA from pg1-path report their sources', () => {
    const s = resolveSite({
      ...inputs,
      jobCommands: [{ job: 'full', command: 'pgbackrest --stanza=main backup' }],
      conf: { file: '/c', text: '[main]\npg1-path=/pg/data\n', from: 'test' },
    });
    const kinds = s.sources.filter((x) => x.used && (x.field === 'stanza' || x.field === 'pgdata'));
    assert.deepEqual(
      kinds.map((k) => sourceKindOf(k.from)),
      ['ofelia-job', 'config-file'],
    );
  });
  it('--stanza is parsed in one place; secrets are masked in anything shown', () => {
    assert.equal(stanzaOfCommand('/usr/bin/pgbackrest --stanza "poddb" backup'), 'poddb');
    assert.equal(stanzaOfCommand('pg_dump --stanza=x'), undefined);
    const shown = maskConf('[global]\nrepo1-s3-key-secret=abc\nrepo1-cipher-pass=p\nrepo1-path=/r\n');
    assert.ok(!/abc|=p$/m.test(shown), shown);
    assert.match(shown, /repo1-path=\/r/);
  });
});
