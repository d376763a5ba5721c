/**
 * `tsdb-ops status`: the one stack status of core/status (what `tsdbOps.backup.info` and the status bar item
 * report) — backups, WAL archiving, restore drills, pending and modified migrations — as text, JSON or
 * Prometheus metrics, with `--fail-on` for shell scripts. It only reads: nothing is started or changed.
 */
import { loadBackupsOverview } from '../../core/backups/overview';
import { Migrator } from '../../core/migrations/migrator';
import type { StatusSummary } from '../../core/migrations/status';
import { connect } from '../../core/postgres/connection';
import { FAIL_CONDITIONS, failures, stackStatus, type FailCondition, type StackStatus } from '../../core/status/model';
import { formatPrometheus } from '../../core/status/prometheus';
import { COMMON_OPTIONS, days, ENGINE_OPTIONS, parseCommand, printHelp, type CommandSpec } from '../args';
import { type CliIo, EXIT_FINDINGS, EXIT_OK, UsageError } from '../io';
import { isDir, loadWorkspace } from '../workspace';
import { numberSetting, openStack, schedulerFactsOf, type CliStack } from '../stack';
import { formatStatusText } from './text';
import { OpsError } from '../../core/errors/error';

export const STATUS_FORMATS = ['text', 'json', 'prometheus'] as const;

export const STATUS_SPEC = {
  name: 'status',
  summary:
    "The stack's status, as the extension reports it: the newest backup (set, age, repositories), WAL archiving " +
    '(last archived WAL, failures, the recovery point of the live system), restore drills (last pass, age), ' +
    'pending and modified migrations. Reads only.',
  options: {
    format: {
      type: 'string',
      value: '<format>',
      choices: STATUS_FORMATS,
      help: "Output: text, json (the status model) or prometheus (the text exposition format, for node_exporter's textfile collector). Default text.",
    },
    'fail-on': {
      type: 'string',
      value: '<conditions>',
      help: `Exit 1 when one of these holds (comma-separated): ${FAIL_CONDITIONS.join(', ')}. The output is written either way.`,
    },
    'max-age-days': {
      type: 'string',
      value: '<days>',
      help: 'A drill older than this is stale (over tsdbOps.drill.maxAgeDays; default 7).',
    },
    ...ENGINE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  details: `
Conditions for --fail-on:
  stale-backup  a full or differential Ofelia backup schedule is missed (tsdbOps.backups.freshnessGraceMinutes)
  archiving     the last WAL archiving attempt failed, or archiving could not be read (database down)
  stale-drill   no restore drill passed within the max age, or the newest drill failed
  pending       migrations in the folder are not applied (pending or out of order)

Settings read from <workspace>/.vscode/settings.json: tsdbOps.infraPath, tsdbOps.migrations.path, tsdbOps.docker.*,
tsdbOps.backups.*, tsdbOps.drill.maxAgeDays, tsdbOps.schedule.service; flags override them. The engine: --docker-host,
else tsdbOps.docker.host / .context, else DOCKER_HOST, else the Docker CLI's current context (ssh:// works).
The migrations are read through the stack's published port (or DATABASE_URL), with the .env credentials.

Exit codes: 0 ok (no --fail-on condition holds); 1 a --fail-on condition holds;
2 usage or configuration error (bad flag, format or condition, wrong --infra, no Docker engine).`,
} as const satisfies CommandSpec;

export async function runStatus(io: CliIo, argv: readonly string[]): Promise<number> {
  const { options: o } = parseCommand(STATUS_SPEC, argv);
  if (o.help) return printHelp(io, STATUS_SPEC);
  const failOn = parseFailOn(o['fail-on']);
  const maxAgeOverride = o['max-age-days'] === undefined ? undefined : days('max-age-days', o['max-age-days']);
  const ws = await loadWorkspace(io, o.workspace);
  const graceMs = numberSetting(ws, 'backups.freshnessGraceMinutes', 15) * 60_000;
  const maxAgeDays = maxAgeOverride ?? numberSetting(ws, 'drill.maxAgeDays', 7);
  const s = await openStack(io, ws, { infra: o.infra, dockerHost: o['docker-host'] });
  try {
    const status = await readStatus(s, ws, { graceMs, maxAgeDays });
    const failed = failures(status, failOn);
    const format = o.format ?? 'text';
    if (format === 'prometheus') io.out(formatPrometheus([status]));
    else if (format === 'json') io.out(`${JSON.stringify({ ...status, failOn, failures: failed }, null, 2)}\n`);
    else io.out(formatStatusText(status, failed));
    return failed.length ? EXIT_FINDINGS : EXIT_OK;
  } finally {
    s.dispose();
  }
}

/** The stack status now: the Backups overview (as the extension loads it) and the migration status. */
export async function readStatus(
  s: CliStack,
  ws: Parameters<typeof schedulerFactsOf>[1],
  opts: { graceMs: number; maxAgeDays: number },
): Promise<StackStatus> {
  const { ctx } = s;
  const b = ctx.settings.backups ?? {};
  const remote =
    s.engine.ssh !== undefined || !['localhost', '127.0.0.1', '::1', undefined].includes(s.engine.options.host);
  const [overview, migrations] = await Promise.all([
    schedulerFactsOf(s, ws).then((scheduler) =>
      loadBackupsOverview({
        context: ctx,
        runtime: async () => (ctx.runtimeKind.value === 'host' ? (await ctx.tools()).tools! : ctx.databaseRuntime()),
        settings: { stanza: b.stanza, pgbackrestConfig: b.pgbackrestConfig, dumpTo: b.dumpTo },
        graceMs: opts.graceMs,
        remoteFiles: ctx.runtimeKind.value === 'container' && remote,
        scheduler,
      }),
    ),
    readMigrations(s),
  ]);
  return stackStatus(overview, { now: new Date(), graceMs: opts.graceMs, maxAgeDays: opts.maxAgeDays, migrations });
}

async function readMigrations(s: CliStack): Promise<StatusSummary | Error | undefined> {
  const dir = s.stack.migrationsDir;
  if (!dir || !(await isDir(dir))) return undefined;
  try {
    const target = await s.ctx.connection();
    return (await new Migrator(dir, () => connect(target)).status()).summary;
  } catch (e) {
    return e instanceof Error ? e : new OpsError('internal', String(e));
  }
}

function parseFailOn(v: string | undefined): FailCondition[] {
  if (v === undefined) return [];
  const names = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = names.find((n) => !FAIL_CONDITIONS.includes(n as FailCondition));
  if (bad !== undefined || !names.length)
    throw new UsageError(
      `tsdb-ops status: --fail-on ${JSON.stringify(bad ?? v)} is not a condition; write a comma-separated list ` +
        `of ${FAIL_CONDITIONS.join(', ')}, e.g. --fail-on stale-backup,archiving.`,
    );
  return names as FailCondition[];
}
