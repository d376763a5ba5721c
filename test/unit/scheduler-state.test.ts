/**
 * Is anything running the scheduled backups? The scheduler's state from the fixture compose file, `.env`
 * and the engine's answer (built with the real model builder), the jobs' "would run" text, the freshness
 * reason naming the cause, runs read from Ofelia's container log and merged with its saved runs.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCompose } from '../../src/core/infra/compose';
import type { ComposeModel, StackConfig } from '../../src/core/infra';
import { buildStackModel, type ContainerSnapshot } from '../../src/core/docker/model';
import { ofeliaJobs } from '../../src/core/schedule/ofelia';
import { computeFreshness } from '../../src/core/schedule/freshness';
import { describeJobSchedule, schedulerState, type SchedulerEngineView } from '../../src/core/schedule/scheduler-state';
import { parseOfeliaLog } from '../../src/core/schedule/ofelia-log';
import { loadScheduler, mergeRuns, schedulerResult } from '../../src/core/schedule/scheduler-load';
import type { OfeliaRun } from '../../src/core/logs/ofelia-runs';
import { schedulerStartConfirmation, startPlanOf } from '../../src/core/schedule/scheduler-start';

const FIXTURE = join(__dirname, '..', 'fixtures', 'infra', 'docker-compose.yaml');
const at = (s: string) => new Date(s);
const fixture = parseCompose(readFileSync(FIXTURE, 'utf8'), FIXTURE, {
  TIMESCALEDB_IMAGE: 'tsdb-ops-test/timescaledb-ha:pg15',
  OFELIA_IMAGE: 'mcuadros/ofelia:988d988',
}).model!;

function stackOf(compose: ComposeModel | undefined, onlyDatabase?: boolean) {
  return {
    compose,
    composeFile: '/infra/docker-compose.yaml',
    envFile: '/infra/.env',
    env: { onlyDatabase } as StackConfig['env'],
  };
}

function snap(service: string, state: ContainerSnapshot['state'], extra: Partial<ContainerSnapshot> = {}) {
  return {
    id: `${service}-id`,
    name: `proj-${service}-1`,
    service,
    state,
    image: 'x',
    ports: [],
    ...extra,
  } as ContainerSnapshot;
}

function ready(compose: ComposeModel, containers: ContainerSnapshot[]): SchedulerEngineView {
  const model = buildStackModel({ project: 'proj', services: compose.services, dbService: 'timescaledb', containers });
  return { kind: 'ready', services: model.services };
}

const dbUp = snap('timescaledb', 'running', { health: 'healthy' });
const jobs = ofeliaJobs(fixture);

describe('the scheduler state (Ofelia container, .env, profiles, setting)', () => {
  it('ONLY_DATABASE=TRUE, Ofelia never created, no run recorded: never started, off by .env, start with --profile full', () => {
    const s = schedulerState({ stack: stackOf(fixture, true), jobs, runs: [], engine: ready(fixture, [dbUp]) });
    assert.equal(s.status, 'notCreated');
    assert.equal(s.scheduling, 'no');
    assert.equal(s.service, 'ofelia');
    assert.equal(s.foundBy, 'image');
    assert.equal(s.neverStarted, true);
    assert.equal(s.headline, 'Ofelia never started on this stack — no scheduled backups');
    assert.equal(s.offBy?.kind, 'onlyDatabase');
    assert.match(s.cause!, /^Ofelia \(service ofelia\) is not created: ONLY_DATABASE=TRUE in \/infra\/\.env/);
    assert.ok(s.detail.some((d) => /set ONLY_DATABASE=FALSE in \/infra\/\.env/.test(d)));
    assert.deepEqual(s.start?.composeArgs, ['--profile', 'full', 'up', '-d', '--no-recreate']);
    assert.equal(s.start?.command, 'docker compose --profile full up -d --no-recreate');
    assert.deepEqual(s.start?.starts, ['ofelia'], 'the running database is not among what starts');
  });

  it('ONLY_DATABASE unset: off because the full profile was not started; a recorded run dates "since"', () => {
    const run: OfeliaRun = {
      job: 'pgbackrest-diff-backup',
      date: at('2026-12-05T23:45:00Z'),
      failed: false,
      skipped: false,
    };
    const s = schedulerState({ stack: stackOf(fixture), jobs, runs: [run], engine: ready(fixture, [dbUp]) });
    assert.equal(s.offBy?.kind, 'profile');
    assert.match(s.offBy!.text, /in the full profile, which was not started/);
    assert.equal(s.neverStarted, false);
    assert.equal(s.headline, 'Ofelia not running — no scheduled backups since 2026-12-05 23:45 UTC');
  });

  it('database stopped too: the start plan names both services', () => {
    const s = schedulerState({
      stack: stackOf(fixture, true),
      jobs,
      runs: [],
      engine: ready(fixture, [snap('timescaledb', 'exited', { exitCode: 0 })]),
    });
    assert.deepEqual(s.start?.starts, ['timescaledb', 'ofelia']);
  });

  it('exited: names the exit code and time; "since" is the exit', () => {
    const s = schedulerState({
      stack: stackOf(fixture),
      jobs,
      runs: [{ job: 'pgbackrest-full-backup', date: at('2026-12-01T00:00:00Z'), failed: false, skipped: false }],
      engine: ready(fixture, [
        dbUp,
        snap('ofelia', 'exited', { exitCode: 137, finishedAt: at('2026-12-06T10:12:30Z') }),
      ]),
    });
    assert.equal(s.status, 'exited');
    assert.equal(s.exitCode, 137);
    assert.equal(s.since?.toISOString(), '2026-12-06T10:12:30.000Z');
    assert.equal(s.headline, 'Ofelia not running — no scheduled backups since 2026-12-06 10:12 UTC');
    assert.equal(s.cause, 'Ofelia (service ofelia) is not running (exited with code 137 at 2026-12-06 10:12 UTC)');
    assert.equal(s.offBy, undefined, 'an exited container is not off by the settings');
    assert.ok(s.start);
  });

  it('running, unhealthy, restarting, paused, created', () => {
    const st = (c: ContainerSnapshot) =>
      schedulerState({ stack: stackOf(fixture), jobs, runs: [], engine: ready(fixture, [dbUp, c]) });
    const running = st(snap('ofelia', 'running'));
    assert.deepEqual(
      [running.status, running.scheduling, running.cause, running.start],
      ['running', 'yes', undefined, undefined],
    );
    const unhealthy = st(snap('ofelia', 'running', { health: 'unhealthy' }));
    assert.deepEqual([unhealthy.status, unhealthy.scheduling], ['unhealthy', 'yes']);
    assert.equal(unhealthy.headline, 'Ofelia unhealthy — scheduled backups may not run');
    const restarting = st(snap('ofelia', 'restarting', { exitCode: 1 }));
    assert.deepEqual([restarting.status, restarting.scheduling, restarting.start], ['restarting', 'no', undefined]);
    const paused = st(snap('ofelia', 'paused'));
    assert.deepEqual([paused.status, paused.scheduling], ['paused', 'no']);
    const created = st(snap('ofelia', 'created'));
    assert.equal(created.status, 'created');
    assert.match(created.cause!, /created but never started/);
  });

  it('an engine that cannot be reached (or has not answered) gives "unknown", never "running"', () => {
    const s = schedulerState({
      stack: stackOf(fixture),
      jobs,
      runs: [],
      engine: { kind: 'unreachable', error: 'connect ECONNREFUSED /var/run/docker.sock' },
    });
    assert.deepEqual([s.status, s.scheduling], ['unknown', 'unknown']);
    assert.equal(s.headline, 'Ofelia state unknown — the Docker engine cannot be reached');
    assert.match(s.detail[0]!, /ECONNREFUSED/);
    assert.equal(
      schedulerState({ stack: stackOf(fixture), jobs, runs: [], engine: { kind: 'connecting' } }).status,
      'unknown',
    );
  });

  it('a compose file without a scheduler says what was looked for and names the setting', () => {
    const { model } = parseCompose(
      'services:\n  db:\n    image: postgres\n    labels:\n      ofelia.job-exec.full.schedule: "@daily"\n' +
        '      ofelia.job-exec.full.command: "pgbackrest --stanza=db --type=full backup"\n' +
        '  cron:\n    image: registry.local/ops/cron-runner:1\n',
      '/infra/docker-compose.yaml',
      {},
    );
    const j = ofeliaJobs(model);
    const engine = ready(model!, [snap('db', 'running'), snap('cron', 'running')]);
    const s = schedulerState({ stack: stackOf(model), jobs: j, runs: [], engine });
    assert.deepEqual([s.status, s.scheduling], ['noService', 'no']);
    assert.match(s.lookedFor, /image is Ofelia.*name contains "ofelia".*ofelia\.service=true/);
    assert.ok(s.detail.some((d) => /no scheduler service: looked for .* setting tsdbOps\.schedule\.service/.test(d)));
    // The setting points at the scheduler under another name and image.
    const bySetting = schedulerState({ stack: stackOf(model), jobs: j, runs: [], engine, setting: 'cron' });
    assert.deepEqual([bySetting.status, bySetting.service, bySetting.foundBy], ['running', 'cron', 'setting']);
    // A setting naming no service of the file.
    const wrong = schedulerState({ stack: stackOf(model), jobs: j, runs: [], engine, setting: 'ofelia' });
    assert.equal(wrong.status, 'noService');
    assert.ok(
      wrong.detail.some((d) =>
        /tsdbOps\.schedule\.service is "ofelia", but \/infra\/docker-compose\.yaml has no such service \(its services: db, cron\)/.test(
          d,
        ),
      ),
    );
  });

  it('finds Ofelia under another service name by its image', () => {
    const { model } = parseCompose(
      'services:\n  db:\n    image: postgres\n  scheduler:\n    image: mcuadros/ofelia:latest\n',
      '/c.yaml',
      {},
    );
    const s = schedulerState({ stack: stackOf(model), jobs: [], runs: [], engine: ready(model!, []) });
    assert.deepEqual([s.service, s.foundBy, s.status], ['scheduler', 'image', 'notCreated']);
    assert.deepEqual(s.start?.composeArgs, ['up', '-d', '--no-recreate'], 'no profile: the plain up');
  });

  it('jobs read "would run daily at 00:00 UTC" while nothing runs them', () => {
    const [full, diff] = jobs;
    assert.equal(describeJobSchedule(full!, 'no'), 'would run daily at 00:00 UTC');
    assert.equal(describeJobSchedule(diff!, 'no'), 'would run every 15 minutes');
    assert.equal(describeJobSchedule(full!, 'yes'), 'daily at 00:00 UTC');
  });

  it('the freshness reason names the cause', () => {
    const s = schedulerState({ stack: stackOf(fixture, true), jobs, runs: [], engine: ready(fixture, [dbUp]) });
    const f = computeFreshness({
      jobs,
      backups: [{ name: '20261205-000002F', kind: 'full', at: at('2026-12-05T00:01:00Z') }],
      now: at('2026-12-06T12:00:00Z'),
      graceMs: 15 * 60_000,
      schedulerCause: s.cause,
    });
    const full = f.reasons.find((r) => r.startsWith('pgbackrest-full-backup'))!;
    assert.match(full, /made none: nothing ran it — Ofelia \(service ofelia\) is not created: ONLY_DATABASE=TRUE/);
  });
});

describe("runs that happened: Ofelia's log and saved runs", () => {
  const LOG = [
    '2026-12-06T00:00:00.000000001Z 2026-12-06T00:00:00.000Z  scheduler.go:44 ▶ NOTICE New job registered "pgbackrest-full-backup"',
    '2026-12-06T00:00:00.002113456Z common.go:125 ▶ NOTICE [Job "pgbackrest-full-backup" (8d7e6f5a4b3c)] Started - pgbackrest --stanza=db --type=full backup',
    '2026-12-06T00:00:05.100000000Z common.go:125 ▶ NOTICE [Job "pgbackrest-full-backup" (8d7e6f5a4b3c)] StdOut: INFO: backup command begin',
    '2026-12-06T00:00:05.100000000Z INFO: new backup label = 20261206-000000F',
    '2026-12-06T00:00:05.200000000Z common.go:125 ▶ NOTICE [Job "pgbackrest-full-backup" (8d7e6f5a4b3c)] ' +
      'Finished in "5.198s", failed: false, skipped: false, error: none',
    '2026-12-06T00:15:00.001000000Z common.go:125 ▶ NOTICE [Job "pgbackrest-diff-backup" (1a2b3c4d5e6f)] Started - pgbackrest --stanza=db --type=diff backup',
    '2026-12-06T00:15:00.400000000Z common.go:125 ▶ ERROR [Job "pgbackrest-diff-backup" (1a2b3c4d5e6f)] StdErr: ERROR: [050]: unable to acquire lock',
    '2026-12-06T00:15:00.400000000Z       HINT: is another pgBackRest process running?',
    '2026-12-06T00:15:00.410000000Z common.go:125 ▶ ERROR [Job "pgbackrest-diff-backup" (1a2b3c4d5e6f)] ' +
      'Finished in "409ms", failed: true, skipped: false, error: error non-zero exit code: 50',
    '2026-12-06T00:30:00.001000000Z common.go:125 ▶ NOTICE [Job "pgbackrest-diff-backup" (9f9f9f9f9f9f)] Started - pgbackrest --stanza=db --type=diff backup',
  ];

  it('parses started/finished pairs with result, duration, output and error; a run still going is left out', () => {
    const runs = parseOfeliaLog(LOG);
    assert.deepEqual(
      runs.map((r) => [r.job, r.id, r.date.toISOString(), r.failed, r.durationMs, r.source]),
      [
        ['pgbackrest-full-backup', '8d7e6f5a4b3c', '2026-12-06T00:00:00.002Z', false, 5198, 'log'],
        ['pgbackrest-diff-backup', '1a2b3c4d5e6f', '2026-12-06T00:15:00.001Z', true, 409, 'log'],
      ],
    );
    assert.deepEqual(runs[0]!.output, ['INFO: backup command begin', 'INFO: new backup label = 20261206-000000F']);
    assert.equal(runs[1]!.errorLine, 'ERROR: [050]: unable to acquire lock');
    assert.equal(runs[1]!.error, 'error non-zero exit code: 50');
    assert.deepEqual(runs[1]!.output, [
      'ERROR: [050]: unable to acquire lock',
      '      HINT: is another pgBackRest process running?',
    ]);
  });

  it('a saved run and the same execution in the log count once', () => {
    const saved: OfeliaRun = {
      job: 'pgbackrest-full-backup',
      id: '8d7e6f5a4b3c',
      date: at('2026-12-06T00:00:00Z'),
      failed: false,
      skipped: false,
      source: 'saved',
    };
    const merged = mergeRuns([saved], parseOfeliaLog(LOG));
    assert.deepEqual(
      merged.map((r) => [r.job, r.source]),
      [
        ['pgbackrest-diff-backup', 'log'],
        ['pgbackrest-full-backup', 'saved'],
      ],
    );
  });

  it('loadScheduler: reads the container log, keeps saved runs when the log cannot be read, reads a failed run’s output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sched-'));
    try {
      const base = join(dir, '20261206_001500_pgbackrest-diff-backup');
      writeFileSync(`${base}.stdout.log`, '');
      writeFileSync(`${base}.stderr.log`, 'ERROR: [050]: unable to acquire lock on file\n');
      writeFileSync(`${base}.json`, '{}');
      const saved: OfeliaRun = {
        job: 'pgbackrest-diff-backup',
        date: at('2026-12-06T00:15:00Z'),
        failed: true,
        skipped: false,
        base,
        source: 'saved',
      };
      const ofelia = snap('ofelia', 'exited', { exitCode: 2, finishedAt: at('2026-12-06T01:00:00Z') });
      const engine = ready(fixture, [dbUp, ofelia]);
      const stack = stackOf(fixture);
      const read = await loadScheduler({
        stack,
        jobs,
        savedRuns: [saved],
        facts: { engine, readLog: async (id) => (id === 'ofelia-id' ? LOG : []) },
      });
      assert.deepEqual(
        read.runs.map((r) => [r.job, r.source]),
        [
          ['pgbackrest-diff-backup', 'saved'],
          ['pgbackrest-full-backup', 'log'],
        ],
        'the saved diff run (the same execution as the log’s, counted once) and the log’s full run',
      );
      const failed = read.runs.find((r) => r.source === 'saved')!;
      assert.deepEqual(failed.output, ['stderr:', 'ERROR: [050]: unable to acquire lock on file']);
      assert.equal(read.scheduler.lastRecordedRun?.toISOString(), '2026-12-06T00:15:00.000Z');
      const broken = await loadScheduler({
        stack,
        jobs,
        savedRuns: [saved],
        facts: {
          engine,
          readLog: () => Promise.reject(new Error('no such container')),
        },
      });
      assert.equal(broken.runs.length, 1);
      assert.match(broken.logError!, /The log of proj-ofelia-1 could not be read: no such container/);
      const json = schedulerResult(broken.scheduler);
      assert.equal(json.status, 'exited');
      assert.equal(json.finishedAt, '2026-12-06T01:00:00.000Z');
      assert.equal(json.start?.command, 'docker compose --profile full up -d --no-recreate');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Start Scheduler: the confirmation names what starts', () => {
  const stack = { projectName: 'connect', infraDir: '/infra', envFile: '/infra/.env' };

  it('names the command, what starts, that running containers stay, and ONLY_DATABASE staying', () => {
    const s = schedulerState({ stack: stackOf(fixture, true), jobs, runs: [], engine: ready(fixture, [dbUp]) });
    const c = schedulerStartConfirmation(stack, s);
    assert.equal(c.message, 'Start the scheduler (ofelia) of connect?');
    assert.match(c.detail, /^Runs `docker compose --profile full up -d --no-recreate` in \/infra\. Starts: ofelia\. /);
    assert.match(c.detail, /the database is not restarted/);
    assert.match(c.detail, /\/infra\/\.env keeps ONLY_DATABASE=TRUE: a clean start leaves the scheduler off again\.$/);
    assert.equal(c.button, 'Start Scheduler');
  });

  it('refuses with the reason when there is nothing to start or no way to', () => {
    const running = schedulerState({
      stack: stackOf(fixture),
      jobs,
      runs: [],
      engine: ready(fixture, [dbUp, snap('ofelia', 'running')]),
    });
    assert.throws(() => startPlanOf(running), /Ofelia \(service ofelia\) running: nothing to start\./);
    const unknown = schedulerState({
      stack: stackOf(fixture),
      jobs,
      runs: [],
      engine: { kind: 'unreachable', error: 'x' },
    });
    assert.throws(() => schedulerStartConfirmation(stack, unknown), /Ofelia state unknown/);
  });
});
