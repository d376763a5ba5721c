/** Ofelia labels → schedules (croner), last/next runs and backup freshness with a fixed clock. */
import { strict as assert } from 'node:assert';
import { Cron } from 'croner';
import { formatDuration } from '../../src/core/format';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCompose } from '../../src/core/infra/compose';
import { ofeliaFiveFieldMode, parseGoDuration, parseOfeliaSchedule } from '../../src/core/schedule/cron';
import { backupKindOfCommand, ofeliaJobs, ofeliaSettings } from '../../src/core/schedule/ofelia';
import { computeFreshness, type BackupMoment } from '../../src/core/schedule/freshness';

const FIXTURE = join(__dirname, '..', 'fixtures', 'infra', 'docker-compose.yaml');
const at = (s: string) => new Date(s);
/** croner's own answer in its named UTC time zone (through Intl): the reference for the fixed-offset path. */
const nextInUtc = (pattern: string, from: Date) =>
  new Cron(pattern, { timezone: 'UTC', paused: true }).nextRun(from)?.toISOString();

describe('Ofelia schedules', () => {
  it('reads the job-exec labels of the fixture compose file', () => {
    const { model } = parseCompose(readFileSync(FIXTURE, 'utf8'), FIXTURE, {
      TIMESCALEDB_IMAGE: 'x',
      OFELIA_IMAGE: 'mcuadros/ofelia:988d988',
    });
    const settings = ofeliaSettings(model);
    assert.equal(settings.timezone, 'UTC');
    assert.equal(settings.saveFolder, '/tmp/logs');
    const jobs = ofeliaJobs(model, settings);
    assert.deepEqual(
      jobs.map((j) => [j.name, j.type, j.service, j.backupKind, j.user, j.noOverlap, j.schedule?.describe]),
      [
        ['pgbackrest-full-backup', 'job-exec', 'timescaledb', 'full', 'postgres', true, 'daily at 00:00:00'],
        ['pgbackrest-diff-backup', 'job-exec', 'timescaledb', 'diff', 'postgres', true, 'every 15 minutes'],
      ],
    );
    const diff = jobs[1]!.schedule!;
    assert.equal(diff.next(at('2026-11-24T21:07:13Z'))?.toISOString(), '2026-11-24T21:15:00.000Z');
    assert.equal(diff.previous(at('2026-11-24T21:07:13Z'))?.toISOString(), '2026-11-24T21:00:00.000Z');
    assert.equal(diff.previous(at('2026-11-24T21:15:00Z'))?.toISOString(), '2026-11-24T21:15:00.000Z');
    const full = jobs[0]!.schedule!;
    assert.equal(full.previous(at('2026-11-24T21:07:13Z'))?.toISOString(), '2026-11-24T00:00:00.000Z');
    assert.equal(full.next(at('2026-11-24T21:07:13Z'))?.toISOString(), '2026-11-25T00:00:00.000Z');
    assert.equal(full.periodMs, 86_400_000);
  });

  it('6 fields with seconds, 5 fields (v0.3 seconds-first or standard), descriptors, @every, TZ prefix', () => {
    const six = parseOfeliaSchedule('0 0 2 * * 0');
    assert.equal(six.next(at('2026-11-24T00:00:00Z'))?.toISOString(), '2026-11-29T02:00:00.000Z', 'Sunday 02:00:00');
    const v03 = parseOfeliaSchedule('0 2 * * *', { fiveField: 'seconds-first' });
    assert.equal(
      v03.next(at('2026-11-24T10:00:00Z'))?.toISOString(),
      '2026-11-24T10:02:00.000Z',
      'minute 2 of every hour on v0.3',
    );
    const std = parseOfeliaSchedule('0 2 * * *', { fiveField: 'standard' });
    assert.equal(std.next(at('2026-11-24T10:00:00Z'))?.toISOString(), '2026-11-25T02:00:00.000Z');
    assert.equal(ofeliaFiveFieldMode('mcuadros/ofelia:latest'), 'seconds-first');
    assert.equal(ofeliaFiveFieldMode('mcuadros/ofelia'), 'seconds-first');
    assert.equal(ofeliaFiveFieldMode('mcuadros/ofelia:v0.3.21'), 'seconds-first');
    assert.equal(ofeliaFiveFieldMode('mcuadros/ofelia:988d988'), 'standard');
    assert.equal(
      parseOfeliaSchedule('@daily').next(at('2026-11-24T10:00:00Z'))?.toISOString(),
      '2026-11-25T00:00:00.000Z',
    );
    assert.equal(
      parseOfeliaSchedule('@hourly').previous(at('2026-11-24T10:30:00Z'))?.toISOString(),
      '2026-11-24T10:00:00.000Z',
    );
    assert.equal(
      parseOfeliaSchedule('@weekly').next(at('2026-11-24T10:00:00Z'))?.toISOString(),
      '2026-11-29T00:00:00.000Z',
    );
    const every = parseOfeliaSchedule('@every 1h30m');
    assert.equal(every.everyMs, 5_400_000);
    assert.equal(every.next(at('2026-11-24T10:00:00Z')), undefined, 'unknown without a last run');
    assert.equal(
      every.next(at('2026-11-24T10:00:00Z'), at('2026-11-24T09:00:00Z'))?.toISOString(),
      '2026-11-24T10:30:00.000Z',
    );
    assert.equal(
      every.previous(at('2026-11-24T11:59:00Z'), at('2026-11-24T09:00:00Z'))?.toISOString(),
      '2026-11-24T10:30:00.000Z',
    );
    const tz = parseOfeliaSchedule('CRON_TZ=Europe/Berlin 0 0 2 * * *');
    assert.equal(tz.timezone, 'Europe/Berlin');
    assert.equal(tz.next(at('2026-11-24T00:00:00Z'))?.toISOString(), '2026-11-24T01:00:00.000Z');
    assert.equal(
      parseOfeliaSchedule('0 0 2 * * *', { timezone: 'America/New_York' })
        .next(at('2026-11-24T00:00:00Z'))
        ?.toISOString(),
      '2026-11-24T07:00:00.000Z',
    );
    assert.equal(parseGoDuration('90s'), 90_000);
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
  });

  it('UTC under any of its names runs at the times of the UTC time zone; another zone shifts them', () => {
    // The UTC names take croner's fixed offset 0 (no Intl per step); the runs must be the zone's own.
    const from = [at('2026-03-29T00:30:00Z'), at('2026-10-25T01:59:59Z'), at('2026-12-31T23:59:00Z')];
    for (const spec of ['0 30 2 * * *', '0 */15 * * * *', '@weekly', 'TZ=Etc/UTC 0 0 3 1 * *']) {
      const zone = parseOfeliaSchedule(spec, { timezone: 'America/New_York' });
      for (const name of ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Zulu']) {
        const utc = parseOfeliaSchedule(spec.startsWith('TZ=') ? spec : `TZ=${name} ${spec}`);
        const named = parseOfeliaSchedule(spec, { timezone: name });
        for (const f of from) {
          const expected = nextInUtc(utc.pattern!, f);
          assert.equal(named.next(f)?.toISOString(), expected, `${spec} in ${name} after ${f.toISOString()}`);
          assert.equal(utc.next(f)?.toISOString(), expected);
          assert.equal(named.previous(f)?.toISOString(), utc.previous(f)?.toISOString());
        }
      }
      if (!spec.startsWith('TZ=') && spec !== '0 */15 * * * *')
        assert.notEqual(
          zone.next(from[0]!)?.toISOString(),
          nextInUtc(zone.pattern!, from[0]!),
          `${spec}: New York differs`,
        );
    }
  });

  it('rejects bad schedules with the spec and the reason', () => {
    assert.throws(() => parseOfeliaSchedule('0 0 * *'), /"0 0 \* \*".*4 fields/);
    assert.throws(() => parseOfeliaSchedule('@sometimes'), /unknown descriptor/);
    assert.throws(() => parseOfeliaSchedule('@every soon'), /Go duration/);
    assert.throws(() => parseOfeliaSchedule('0 99 * * * *'), /Invalid Ofelia schedule/);
    const { model } = parseCompose(
      'services:\n  db:\n    image: postgres\n    labels:\n      ofelia.job-exec.x.schedule: "nope"\n' +
        '      ofelia.job-exec.x.command: "pgbackrest --stanza=db backup"\n',
      '/c.yaml',
      {},
    );
    const [job] = ofeliaJobs(model);
    assert.equal(job?.schedule, undefined);
    assert.match(job!.scheduleError!, /ofelia\.job-exec\.x\.schedule on service db/);
    assert.equal(job?.backupKind, 'incr', 'pgBackRest backup without --type is incr');
  });

  it('knows which kind of backup a job command makes', () => {
    assert.equal(backupKindOfCommand('pgbackrest --stanza=db --type=full --log-level-stderr=info backup'), 'full');
    assert.equal(backupKindOfCommand('/usr/bin/pgbackrest --type diff --stanza=db backup'), 'diff');
    assert.equal(backupKindOfCommand('pgbackrest --stanza=db check'), 'other');
    assert.equal(backupKindOfCommand("sh -c 'pg_dumpall -U u -f /x.sql'"), 'dumpAll');
    assert.equal(backupKindOfCommand("sh -c 'pg_dump -U u -F t -d db -f /x.tar'"), 'dump');
  });
});

describe('backup freshness (fixed clock)', () => {
  const { model } = parseCompose(readFileSync(FIXTURE, 'utf8'), FIXTURE, { TIMESCALEDB_IMAGE: 'x' });
  const jobs = ofeliaJobs(model);
  const grace = 10 * 60_000;
  const F = (label: string, iso: string): BackupMoment => ({ name: label, kind: 'full', at: at(iso) });
  const D = (label: string, iso: string): BackupMoment => ({ name: label, kind: 'diff', at: at(iso) });

  it('is ok when the last full and diff runs (minus grace) produced backups', () => {
    const f = computeFreshness({
      jobs,
      now: at('2026-11-24T21:07:00Z'),
      graceMs: grace,
      backups: [
        F('20261124-000001F', '2026-11-24T00:01:10Z'),
        D('20261124-000001F_20261124-204501D', '2026-11-24T20:45:30Z'),
      ],
    });
    assert.equal(f.level, 'ok', f.reasons.join('\n'));
    assert.equal(f.newest?.name, '20261124-000001F_20261124-204501D');
    assert.equal(f.ageMs, 21 * 60_000 + 30_000);
    const diff = f.jobs.find((j) => j.job.name === 'pgbackrest-diff-backup')!;
    assert.equal(diff.lastScheduled?.toISOString(), '2026-11-24T21:00:00.000Z');
    assert.equal(diff.nextRun?.toISOString(), '2026-11-24T21:15:00.000Z');
    assert.equal(
      diff.expectedSince?.toISOString(),
      '2026-11-24T20:45:00.000Z',
      'the 21:00 run is still within the grace period',
    );
    assert.equal(formatDuration(f.ageMs!), '21 min');
  });

  it('warns when the newest diff is older than its schedule allows', () => {
    const f = computeFreshness({
      jobs,
      now: at('2026-11-24T21:20:00Z'),
      graceMs: grace,
      backups: [F('20261124-000001F', '2026-11-24T00:01:10Z'), D('x_D', '2026-11-24T20:45:30Z')],
    });
    assert.equal(f.level, 'warning');
    assert.equal(f.reasons.length, 1);
    assert.match(
      f.reasons[0]!,
      /pgbackrest-diff-backup: newest full or differential backup x_D .* 2026-11-24T21:00:00.000Z \(every 15 minutes\)/,
    );
    assert.equal(f.jobs.find((j) => j.job.name === 'pgbackrest-full-backup')?.state, 'ok');
  });

  it('a newer full satisfies the diff schedule; a missing full warns', () => {
    const ok = computeFreshness({
      jobs,
      now: at('2026-11-25T00:20:00Z'),
      graceMs: grace,
      backups: [F('20261125-000002F', '2026-11-25T00:14:00Z')],
    });
    assert.equal(ok.level, 'ok', ok.reasons.join('\n'));
    const none = computeFreshness({ jobs, now: at('2026-11-25T00:20:00Z'), graceMs: grace, backups: [] });
    assert.equal(none.level, 'warning');
    assert.ok(none.reasons.some((r) => /no full backup yet/.test(r)));
    assert.equal(none.newest, undefined);
  });

  it('without schedules there is no warning, only the age', () => {
    const f = computeFreshness({
      jobs: [],
      now: at('2026-11-25T00:20:00Z'),
      graceMs: grace,
      backups: [F('a', '2026-11-20T00:00:00Z')],
    });
    assert.equal(f.level, 'ok');
    assert.equal(formatDuration(f.ageMs!), '5 days');
    assert.equal(
      computeFreshness({ jobs: [], now: at('2026-11-25T00:20:00Z'), graceMs: grace, backups: [] }).level,
      'none',
    );
  });
});

describe('backup freshness when pgBackRest cannot be read', () => {
  it('its jobs are unknown, not stale (no false warning while the container is down)', () => {
    const { model } = parseCompose(readFileSync(FIXTURE, 'utf8'), FIXTURE, { TIMESCALEDB_IMAGE: 'x' });
    const f = computeFreshness({
      jobs: ofeliaJobs(model),
      now: at('2026-11-25T00:20:00Z'),
      graceMs: 600_000,
      backups: [],
      pgbackrestUnknown: 'container timescaledb is not running',
    });
    assert.equal(f.level, 'ok');
    assert.deepEqual(f.reasons, []);
    assert.deepEqual(
      f.jobs.map((j) => j.state),
      ['unknown', 'unknown'],
    );
    assert.equal(f.unknown, 'container timescaledb is not running');
  });
});
