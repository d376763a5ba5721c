/**
 * `tsdb-ops lint [files…]`: the extension's migration lint (same rules, severities, suppressions and
 * `tsdbOps.lint.*` settings) for pull requests and hooks, with table sizes when a database is configured,
 * and `--since <ref>` for applied migrations that changed. No Docker needed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { lintMigrations, type Finding, type LintFile, type RuleSetting, type TableFacts } from '../../core/lint/lint';
import { RULE_BY_ID, type RuleId } from '../../core/lint/rules';
import { CHANGED_SINCE_RULE, changedSince, changeFinding, HistoryError } from '../../core/migrations/history';
import { loadMigrations } from '../../core/migrations/source';
import { parseMigrationFileName } from '../../core/migrations/files';
import { connect, describeTarget, type ConnectionTarget } from '../../core/postgres/connection';
import { COMMON_OPTIONS, parseCommand, printHelp, type CommandSpec } from '../args';
import { databaseFromEnv } from '../database';
import { type CliIo, cliVersion, EXIT_FINDINGS, EXIT_OK, UsageError } from '../io';
import { findStack, isDir, isNumber, isRecord, loadWorkspace, setting, type CliWorkspace } from '../workspace';
import { formatGithub, formatJson, formatText, LINT_FORMATS, type LintFormat, type LintOutcome } from './formats';
import { formatSarif } from './sarif';

const SEVERITIES = ['error', 'warning', 'info'] as const;

export const LINT_SPEC = {
  name: 'lint',
  summary:
    'Lint sqlx migrations with the rules of the TimescaleDB Ops extension: lock and rewrite hazards, destructive ' +
    'statements, sqlx and TimescaleDB rules. Files, or folders of .sql files; none: the migrations folder of the ' +
    "workspace's stack: with --since, the migrations added since the ref; else every one (only the pending ones " +
    'when a database is configured).',
  positionals: '[files…]',
  options: {
    format: {
      type: 'string',
      value: '<format>',
      choices: LINT_FORMATS,
      help: 'Output: text (file:line:col), json, sarif (SARIF 2.1.0) or github (workflow-command annotations). Default text.',
    },
    since: {
      type: 'string',
      value: '<ref>',
      help: 'Also flag every migration that existed at this git ref and was edited, renamed or deleted since (needs the history: fetch-depth: 0).',
    },
    migrations: {
      type: 'string',
      value: '<dir>',
      help: 'The migrations folder (default: tsdbOps.migrations.path, else the one next to the infra folder).',
    },
    rule: {
      type: 'string',
      multiple: true,
      value: '<id>=<level>',
      help: 'Set a rule to off, info, warning or error (over tsdbOps.lint.rules), e.g. --rule drop-column=error.',
    },
    'large-table-bytes': {
      type: 'string',
      value: '<bytes>',
      help: 'A lock finding on a larger table becomes an error (over tsdbOps.lint.largeTableBytes; default 100 MB).',
    },
    'fail-level': {
      type: 'string',
      value: '<level>',
      choices: SEVERITIES,
      help: 'Exit 1 when a finding has at least this severity. Default warning (info findings are shown but pass).',
    },
    'database-url-env': {
      type: 'string',
      value: '<name>',
      help: 'Read table sizes from the database whose URL is in this environment variable (default: the PG* variables when PGHOST or PGDATABASE is set).',
    },
    'no-sizes': { type: 'boolean', help: 'Do not read table sizes even when a database is configured.' },
    ...COMMON_OPTIONS,
  },
  details: `
Settings: tsdbOps.lint.rules, tsdbOps.lint.largeTableBytes, tsdbOps.infraPath and tsdbOps.migrations.path are
read from <workspace>/.vscode/settings.json; flags override them. Suppressions in the SQL work as in the editor:
-- tsdb-ops-lint: ignore <rule> <reason>, -- tsdb-ops-lint: ignore-file <rule>, and squawk's -- squawk-ignore.

Database (optional, for table sizes): PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD, or --database-url-env NAME.
Without one the lint runs without sizes and says so.

Exit codes: 0 no finding at the fail level; 1 findings (a file that does not parse is a finding);
2 usage or configuration error (bad flag, settings file, folder, ref, shallow clone, unreachable database).`,
} as const satisfies CommandSpec;

export async function runLint(io: CliIo, argv: readonly string[]): Promise<number> {
  const { options: o, positionals } = parseCommand(LINT_SPEC, argv);
  if (o.help) return printHelp(io, LINT_SPEC);
  const ws = await loadWorkspace(io, o.workspace);
  const rules = ruleSettings(ws, o.rule ?? []);
  const largeTableBytes = largeTable(ws, o['large-table-bytes']);
  const target = o['no-sizes'] ? undefined : databaseFromEnv(io.env, o['database-url-env']);
  const stack =
    o.infra !== undefined || positionals.length === 0 || o.since !== undefined
      ? await findStack(io, ws, o.infra)
      : undefined;
  const needDir = positionals.length === 0 || o.since !== undefined;
  const migrationsDir = needDir ? await migrationsFolder(io, ws, o.migrations, stack?.migrationsDir) : undefined;
  const rel = (p: string) => showPath(io.cwd, p);

  // Everything below reads; nothing is started before the input was checked.
  let files: LintFile[];
  let db: { tables?: TableFacts[]; pending?: Set<string>; note: string } = {
    note: o['no-sizes']
      ? 'Table sizes: not read (--no-sizes).'
      : 'Table sizes: not read (no database configured: set PGHOST/PGDATABASE or --database-url-env), so lock findings keep their default severity.',
  };
  // --since first: with no files given, what changed decides what is linted (the migrations added since the ref).
  const findings: Finding[] = [];
  let added: Set<string> | undefined;
  if (o.since !== undefined) {
    try {
      const history = await changedSince(migrationsDir!, o.since);
      added = new Set(history.added);
      const sev = rules[CHANGED_SINCE_RULE];
      if (sev !== 'off')
        for (const c of history.changes)
          findings.push({ ...changeFinding(c, o.since, rel), ...(sev ? { severity: sev } : {}) });
    } catch (e) {
      if (e instanceof HistoryError) throw new UsageError(`--since ${o.since}: ${e.message}.`);
      throw e;
    }
  }
  if (target) db = await readDatabase(target, positionals.length === 0 && !added ? migrationsDir : undefined);
  if (positionals.length) files = await filesFromArgs(io, positionals);
  else {
    const loaded = await loadMigrations(migrationsDir!);
    if (loaded.errors.length)
      throw new UsageError(`${migrationsDir}: ${loaded.errors[0]!.message}; rename or fix the file.`);
    files = loaded.migrations
      .filter((m) => m.type !== 'down' && (!db.pending || db.pending.has(m.version.toString())))
      .filter((m) => !added || added.has(m.path))
      .map((m) => ({ path: m.path, sql: m.sql, noTx: m.noTx }));
  }

  const report = files.length
    ? await lintMigrations(files, { rules, largeTableBytes, tables: db.tables })
    : { findings: [], files: 0, statements: 0, sizesKnown: db.tables !== undefined };
  findings.push(...report.findings);

  const outcome: LintOutcome = {
    findings,
    files: report.files,
    statements: report.statements,
    sizesKnown: report.sizesKnown,
    sizesNote: db.note,
    since: o.since,
    rel,
  };
  const format = (o.format ?? 'text') as LintFormat;
  io.out(
    format === 'json'
      ? formatJson(outcome, cliVersion())
      : format === 'sarif'
        ? formatSarif(outcome, cliVersion(), ws.folder)
        : format === 'github'
          ? formatGithub(outcome)
          : formatText(outcome),
  );
  const failAt = SEVERITIES.indexOf((o['fail-level'] ?? 'warning') as (typeof SEVERITIES)[number]);
  return findings.some((f) => SEVERITIES.indexOf(f.severity) <= failAt) ? EXIT_FINDINGS : EXIT_OK;
}

/** `tsdbOps.lint.rules` from the settings, then each `--rule id=level`; an unknown id or level is exit 2. */
function ruleSettings(ws: CliWorkspace, flags: readonly string[]): Record<string, RuleSetting> {
  const out: Record<string, RuleSetting> = {};
  const known = (id: string) => RULE_BY_ID.has(id as RuleId) || id === CHANGED_SINCE_RULE;
  const levels = ['off', ...SEVERITIES];
  const fromSettings = setting(ws, 'tsdbOps.lint.rules', isRecord, 'an object of rule id to off/info/warning/error');
  for (const [id, level] of Object.entries(fromSettings ?? {})) {
    const where = `${ws.settingsFile}: tsdbOps.lint.rules`;
    if (!known(id))
      throw new UsageError(`${where} names an unknown rule "${id}"; the rules are listed in docs/cli.md.`);
    if (typeof level !== 'string' || !levels.includes(level))
      throw new UsageError(`${where}: "${id}" is ${JSON.stringify(level)}; use one of ${levels.join(', ')}.`);
    out[id] = level as RuleSetting;
  }
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const id = flag.slice(0, Math.max(0, eq)).trim();
    const level = flag.slice(eq + 1).trim();
    if (eq < 0 || !known(id) || !levels.includes(level))
      throw new UsageError(
        eq < 0 || !levels.includes(level)
          ? `--rule ${flag}: write <rule>=<level> with a level of ${levels.join(', ')}, e.g. --rule drop-column=error.`
          : `--rule ${flag}: unknown rule "${id}"; run tsdb-ops lint --format json on a file to see rule ids, or read docs/cli.md.`,
      );
    out[id] = level as RuleSetting;
  }
  return out;
}

function largeTable(ws: CliWorkspace, flag: string | undefined): number | undefined {
  if (flag !== undefined) {
    const n = Number(flag);
    if (!Number.isFinite(n) || n < 0)
      throw new UsageError(
        `--large-table-bytes ${flag}: not a number of bytes; write e.g. --large-table-bytes 104857600.`,
      );
    return n;
  }
  return setting(ws, 'tsdbOps.lint.largeTableBytes', isNumber, 'a number of bytes');
}

async function migrationsFolder(
  io: CliIo,
  ws: CliWorkspace,
  flag: string | undefined,
  fromStack: string | undefined,
): Promise<string> {
  const dir = flag !== undefined ? resolve(io.cwd, flag) : fromStack;
  if (dir && (await isDir(dir))) return dir;
  if (flag !== undefined)
    throw new UsageError(`--migrations ${flag}: ${dir} is not a folder; point it at the sqlx migrations folder.`);
  if (dir)
    throw new UsageError(
      `tsdbOps.migrations.path in ${ws.settingsFile}: ${dir} is not a folder; correct it or pass --migrations <dir>.`,
    );
  throw new UsageError(
    `no migrations folder found in ${ws.folder} (no stack with database/migrations or migrations next to it); pass files, --migrations <dir> or --infra <dir>.`,
  );
}

/** Files as given (a folder: its .sql files); sqlx-named files in sqlx's order, as they would be applied. */
async function filesFromArgs(io: CliIo, args: readonly string[]): Promise<LintFile[]> {
  const paths: string[] = [];
  for (const a of args) {
    const p = resolve(io.cwd, a);
    const s = await stat(p).catch(() => undefined);
    if (!s) throw new UsageError(`${a}: no such file or folder; pass migration files or a folder of them.`);
    if (s.isDirectory())
      paths.push(
        ...(await readdir(p))
          .filter((n) => n.endsWith('.sql') && !n.endsWith('.down.sql'))
          .sort()
          .map((n) => join(p, n)),
      );
    else paths.push(p);
  }
  const version = (p: string): bigint | undefined => {
    try {
      return parseMigrationFileName(basename(p))?.version;
    } catch {
      return undefined;
    }
  };
  if (paths.every((p) => version(p) !== undefined))
    paths.sort((a, b) => (version(a)! < version(b)! ? -1 : version(a)! > version(b)! ? 1 : 0));
  const out: LintFile[] = [];
  for (const path of [...new Set(paths)]) {
    const raw = await readFile(path, 'utf8');
    const sql = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
    out.push({ path, sql, noTx: sql.startsWith('-- no-transaction') });
  }
  return out;
}

/** Table sizes (and, for a migrations folder, which versions are pending); an unreachable database is exit 2. */
async function readDatabase(
  target: ConnectionTarget,
  migrationsDir: string | undefined,
): Promise<{ tables: TableFacts[]; pending?: Set<string>; note: string }> {
  let client;
  try {
    client = await connect(target);
  } catch (e) {
    throw new UsageError(
      `database ${describeTarget(target)} (from ${target.source}): ${e instanceof Error ? e.message : String(e)} ` +
        'Unset PGHOST/PGDATABASE or pass --no-sizes to lint without sizes.',
    );
  }
  try {
    const { readTableFacts } = await import('../../core/lint/sizes');
    const tables = await readTableFacts(client);
    let pending: Set<string> | undefined;
    if (migrationsDir) {
      const exists = await client.query("SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS e");
      const applied = exists.rows[0].e
        ? (await client.query('SELECT version::text AS v FROM _sqlx_migrations WHERE success')).rows.map((r) =>
            String(r.v),
          )
        : [];
      const all = (await loadMigrations(migrationsDir)).migrations.map((m) => m.version.toString());
      pending = new Set(all.filter((v) => !applied.includes(v)));
    }
    return {
      tables,
      pending,
      note:
        `Table sizes: read from ${describeTarget(target)} (${tables.length} table${tables.length === 1 ? '' : 's'})` +
        `${pending ? '; pending migrations only' : ''}.`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Relative to the current folder when inside it (forward slashes), else absolute. */
export function showPath(cwd: string, p: string): string {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r.split(sep).join('/') : p;
}
