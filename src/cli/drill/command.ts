/**
 * `tsdb-ops drill`: the extension's restore drill (core/backups/drill: the same scratch container, checks, RTO and
 * recovery point), its JSON and Markdown report written into the drills folder the extension reads
 * (`<infra>/backups/drills`). Abandoned scratch containers of killed drills are swept first. With
 * `--max-age-days N` it drills only when the newest passing drill is older than N days, or the newest failed.
 */
import { readDrillReports, runDrill, sweepDrills, writeDrillReport, type DrillReport } from '../../core/backups/drill';
import { DrillRefusedError } from '../../core/backups/drill/types';
import { drillCheckFiles } from '../../core/backups/drill-checks';
import { drillTargetOf } from '../../core/backups/drill-target';
import { parseRepoArg } from '../../core/backups/repositories';
import { cancel as cancelWith, CancelledError } from '../../core/errors/error';
import { errorText } from '../../core/format';
import { COMMON_OPTIONS, days, ENGINE_OPTIONS, parseCommand, printHelp, type CommandSpec } from '../args';
import { type CliIo, EXIT_FINDINGS, EXIT_OK, UsageError } from '../io';
import { loadWorkspace } from '../workspace';
import { openStack } from '../stack';
import { ageText } from '../status/text';

export const DRILL_SPEC = {
  name: 'drill',
  summary:
    "Prove that the newest backup restores: the extension's restore drill in a scratch container of the database " +
    "service's image (no ports, no network, the repository read-only), checks, RTO and recovery point; the JSON and " +
    'Markdown report go into the drills folder the extension shows. The live database is never touched.',
  options: {
    format: {
      type: 'string',
      value: '<format>',
      choices: ['text', 'json'],
      help: 'Output: text (progress and the result) or json (the report, or why it was skipped; progress on stderr). Default text.',
    },
    'max-age-days': {
      type: 'string',
      value: '<days>',
      help: 'Drill only when the newest passing drill is older than this, or the newest drill failed; else say so and exit 0.',
    },
    set: { type: 'string', value: '<label>', help: 'The pgBackRest backup set (default: the newest).' },
    target: {
      type: 'string',
      value: '<target>',
      choices: ['latest', 'set'],
      help: 'latest (default): the set plus every archived WAL; set: exactly the set.',
    },
    repo: { type: 'string', value: '<n>', help: "The pgBackRest repository number (default: the set's)." },
    ...ENGINE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  details: `
Settings read from <workspace>/.vscode/settings.json: tsdbOps.infraPath, tsdbOps.docker.*, tsdbOps.backups.*,
tsdbOps.drill.checks (SQL check files; default <infra>/drill-checks/*.sql); flags override them.
Reports: <infra>/backups/drills/<started>-<source>.json and .md, as the extension writes them.
SIGINT / SIGTERM (a timer's time limit) cancel the drill: the scratch container and volume are removed, no report.

Exit codes: 0 the drill passed, or was skipped by --max-age-days; 1 the drill failed, could not start or was cancelled;
2 usage or configuration error (bad flag, wrong --infra, no Docker engine, the database container not running,
another drill of the stack running, no backup set or an unknown --set), nothing started.`,
} as const satisfies CommandSpec;

export async function runDrillCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { options: o } = parseCommand(DRILL_SPEC, argv);
  if (o.help) return printHelp(io, DRILL_SPEC);
  const maxAge = o['max-age-days'] === undefined ? undefined : days('max-age-days', o['max-age-days']);
  let repo: number | undefined;
  try {
    repo = parseRepoArg(o.repo, '--repo');
  } catch (e) {
    throw new UsageError(errorText(e));
  }
  const json = o.format === 'json';
  // Progress: stdout for a person, stderr when stdout carries the JSON.
  const say = (l: string) => (json ? io.err : io.out)(`${l}\n`);
  const ws = await loadWorkspace(io, o.workspace);
  const s = await openStack(io, ws, { infra: o.infra, dockerHost: o['docker-host'] });
  try {
    // Scratch containers of drills whose owner is gone (a drill killed by a time limit) go first.
    const swept = await sweepDrills(s.docker, say);
    if (swept.containers.length || swept.volumes.length || swept.networks.length)
      say(
        `Swept ${swept.containers.length} abandoned drill container(s), ${swept.volumes.length} volume(s), ${swept.networks.length} network(s).`,
      );

    const dir = s.ctx.drillsDir;
    if (maxAge !== undefined) {
      const skip = skipReason(await readDrillReports(dir), maxAge);
      if (skip) {
        if (json)
          io.out(`${JSON.stringify({ skipped: true, reason: skip.text, lastPassed: skip.lastPassed }, null, 2)}\n`);
        else say(`Skipped: ${skip.text}`);
        return EXIT_OK;
      }
    }

    let target;
    try {
      const checks = await drillCheckFiles(s.stack, s.ctx.settings.drill?.checks ?? []);
      target = await drillTargetOf(s.ctx, { pgbackrest: true, checks });
    } catch (e) {
      throw new UsageError(`${s.stack.projectName}: ${errorText(e).split('\n')[0]}`);
    }
    const secret = target.conn.password;
    const mask = (l: string) => (secret ? l.split(secret).join('****') : l);
    const ac = new AbortController();
    const cancel = (sig: NodeJS.Signals) => {
      say(`${sig}: cancelling the drill (the scratch container and volume are removed)…`);
      cancelWith(ac, `Cancelled by ${sig}.`);
    };
    process.once('SIGINT', cancel);
    process.once('SIGTERM', cancel);
    let report: DrillReport;
    try {
      say(`[${new Date().toISOString()}] Restore drill of ${s.stack.projectName}`);
      report = await runDrill(
        target,
        {
          kind: 'pgbackrest',
          set: o.set,
          target: (o.target ?? 'latest') as 'latest' | 'set',
          ...(repo ? { repo } : {}),
        },
        { signal: ac.signal, step: (t) => say(`▶ ${mask(t)}`), line: (l) => say(mask(l)) },
      );
    } catch (e) {
      if (e instanceof DrillRefusedError) throw new UsageError(`${s.stack.projectName}: ${e.message}`);
      if (ac.signal.aborted || e instanceof CancelledError) {
        io.err(`tsdb-ops drill: cancelled; nothing is left behind and no report was written.\n`);
        return EXIT_FINDINGS;
      }
      // Anything else runDrill throws comes before the scratch container exists (a report says every later
      // failure), e.g. the engine dropped: the backup is not proven, a failed check.
      io.err(
        `tsdb-ops drill: ${s.stack.projectName}: the drill could not start: ${mask(errorText(e)).split('\n')[0]}\n`,
      );
      return EXIT_FINDINGS;
    } finally {
      process.removeListener('SIGINT', cancel);
      process.removeListener('SIGTERM', cancel);
    }
    const files = await writeDrillReport(dir, report);
    if (json) io.out(`${JSON.stringify({ skipped: false, report, files }, null, 2)}\n`);
    else {
      const failed = report.checks.filter((c) => c.status === 'failed');
      say(
        report.passed
          ? `Drill passed: RTO ${Math.round(report.rtoMs / 1000)} s, recovery point ${report.recoveryPoint ?? 'unknown'}.`
          : `Drill FAILED: ${mask(report.error ?? failed.map((c) => `${c.name}: ${c.message}`).join('; '))}`,
      );
      say(`Report: ${files.markdown}`);
    }
    return report.passed ? EXIT_OK : EXIT_FINDINGS;
  } finally {
    s.dispose();
  }
}

/**
 * A daily timer's slack: last night's drill finished minutes after tonight's would start, so "younger than 1 day"
 * alone would skip every other night. A drill counts as recent when younger than N days less this.
 */
export const MAX_AGE_SLACK_S = 2 * 3600;

/** Why `--max-age-days` skips: the newest drill passed and is younger than the limit (less the slack). Undefined: drill. */
export function skipReason(
  reports: readonly DrillReport[],
  maxAgeDays: number,
  now = new Date(),
): { text: string; lastPassed: DrillReport } | undefined {
  const newest = reports[0];
  if (!newest || !newest.passed) return undefined;
  const ageS = (now.getTime() - new Date(newest.finished).getTime()) / 1000;
  if (ageS > maxAgeDays * 86_400 - MAX_AGE_SLACK_S) return undefined;
  return {
    text: `the newest drill (${newest.source}, finished ${newest.finished}) passed ${ageText(ageS)} ago, within --max-age-days ${maxAgeDays}.`,
    lastPassed: newest,
  };
}
