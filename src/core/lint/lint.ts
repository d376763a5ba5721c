/**
 * Migration safety lint: pending sqlx migrations, parsed by the real PostgreSQL parser, checked in order with what
 * the earlier ones created (new, empty tables draw no lock findings), and with table sizes from the live database
 * when it was reachable. `lintMigrations` is the function the benchmark times (parse + lint).
 */
import {
  callArgs,
  constText,
  defElems,
  funcCalls,
  inner,
  isTrue,
  list,
  nameList,
  obj,
  rangeVar,
  regclassText,
  relKey,
  relText,
  str,
  sval,
  type Obj,
  type RelName,
} from './ast';
import { loadParser, type SqlParser, type Statement, lineIndex } from './parser';
import { FROM_SQUAWK, RULE_BY_ID, type RuleCategory, type Severity } from './rules';
import { formatBytes } from '../format';

export interface LintFile {
  readonly path: string;
  /** The text as sqlx sends it (without a BOM). */
  readonly sql: string;
  /** The file starts with `-- no-transaction`. */
  readonly noTx: boolean;
}

/** What the database says about an existing table. */
export interface TableFacts {
  readonly schema: string;
  readonly name: string;
  /** pg_total_relation_size (a hypertable: all its chunks). */
  readonly bytes: number;
  /** The planner's estimate; -1 when never analyzed. */
  readonly rows: number;
  readonly hypertable: boolean;
  readonly chunks?: number;
  readonly compressionEnabled?: boolean;
  /** The hypertable's time (first) dimension column. */
  readonly partitionColumn?: string;
}

export type RuleSetting = Severity | 'off';

export interface LintOptions {
  /** Per rule: off, or a severity that replaces the default. */
  readonly rules?: Readonly<Record<string, RuleSetting>>;
  /** Existing tables, when the database was read; undefined: sizes unknown. */
  readonly tables?: readonly TableFacts[];
  /** A lock/rewrite finding on a larger table becomes an error (default 100 MB). */
  readonly largeTableBytes?: number;
}

export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface QuickFix {
  readonly title: string;
  /** Edits to the linted file (character offsets). */
  readonly edits: readonly TextEdit[];
  /** A new migration to create after this one: its description and whole text. */
  readonly newMigration?: { readonly description: string; readonly sql: string };
}

export interface Finding {
  readonly rule: string;
  readonly category: RuleCategory;
  readonly severity: Severity;
  /** What was found, naming the statement and its line. */
  readonly message: string;
  readonly why: string;
  readonly fix: string;
  readonly file: string;
  /** 1-based, of the statement (or of the parse error). */
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly start: number;
  readonly end: number;
  /** The table concerned, with what the database knows about it. */
  readonly table?: string;
  readonly tableFacts?: TableFacts;
  readonly quickFixes?: readonly QuickFix[];
}

export interface LintReport {
  readonly findings: Finding[];
  readonly files: number;
  readonly statements: number;
  /** Whether table sizes came from the database. */
  readonly sizesKnown: boolean;
}

export const DEFAULT_LARGE_TABLE_BYTES = 100 * 1024 * 1024;

/** Parses and lints pending migrations in the order sqlx applies them (loads the parser on first use). */
export async function lintMigrations(files: readonly LintFile[], options: LintOptions = {}): Promise<LintReport> {
  return lintWith(await loadParser(), files, options);
}

/** The same with a loaded parser (synchronous: for a keystroke in an open file). */
export function lintWith(parser: SqlParser, files: readonly LintFile[], options: LintOptions = {}): LintReport {
  const ctx = new SetContext(options);
  const findings: Finding[] = [];
  let statements = 0;
  for (const f of files) {
    const parsed = parser.parse(f.sql);
    if (!parsed.ok) {
      const e = parsed.error;
      const rule = RULE_BY_ID.get('syntax-error')!;
      const sev = severityFor(options, 'syntax-error');
      if (sev)
        findings.push({
          rule: rule.id,
          category: rule.category,
          severity: sev,
          message: `${e.message} (line ${e.line}, column ${e.column})`,
          why: rule.why,
          fix: rule.fix,
          file: f.path,
          line: e.line,
          column: e.column,
          endLine: e.line,
          endColumn: e.column + 1,
          start: e.offset,
          end: Math.min(e.offset + 1, f.sql.length),
        });
      continue;
    }
    statements += parsed.statements.length;
    findings.push(...new FileLinter(f, parsed.statements, ctx, options).run());
  }
  return { findings, files: files.length, statements, sizesKnown: options.tables !== undefined };
}

function severityFor(options: LintOptions, rule: string): Severity | undefined {
  const s = options.rules?.[rule];
  if (s === 'off') return undefined;
  return s ?? RULE_BY_ID.get(rule)?.severity;
}

interface KnownHypertable {
  partitionColumn?: string;
  compressed: boolean;
}

/** What the pending set has done so far, on top of what the database says. */
class SetContext {
  /** Tables created earlier in the pending set, and whether rows went into them. */
  readonly created = new Map<string, { hasRows: boolean }>();
  readonly hypertables = new Map<string, KnownHypertable>();
  /** Unique keys (column lists) of tables created in the set, to check when they become hypertables. */
  readonly uniqueKeys = new Map<string, Array<{ name: string; columns: string[] }>>();
  readonly facts = new Map<string, TableFacts>();
  readonly sizesKnown: boolean;

  constructor(options: LintOptions) {
    this.sizesKnown = options.tables !== undefined;
    for (const t of options.tables ?? []) {
      this.facts.set(`${t.schema}.${t.name}`, t);
      if (t.hypertable)
        this.hypertables.set(`${t.schema}.${t.name}`, {
          partitionColumn: t.partitionColumn,
          compressed: !!t.compressionEnabled,
        });
    }
  }

  isNew(r: RelName): boolean {
    return this.created.has(relKey(r));
  }
}

const VOLATILE_FUNCTIONS = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'random_normal',
]);
const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);
const NO_TX_CALLS = new Set(['refresh_continuous_aggregate']);

export function describeFacts(t: TableFacts): string {
  const rows = t.rows < 0 ? 'never analyzed' : `~${Math.round(t.rows).toLocaleString('en-US')} rows`;
  const ht = t.hypertable ? `, hypertable with ${t.chunks ?? 0} chunk${t.chunks === 1 ? '' : 's'}` : '';
  return `${formatBytes(t.bytes)}, ${rows}${ht}`;
}

/** Lints one file's statements; the context carries across files. */
class FileLinter {
  private readonly out: Finding[] = [];
  private lockTimeoutSet = false;
  private lockTimeoutReported = false;
  private readonly where: (offset: number) => { line: number; column: number };
  private readonly fileIgnores = new Set<string>();

  constructor(
    private readonly file: LintFile,
    private readonly statements: Statement[],
    private readonly ctx: SetContext,
    private readonly options: LintOptions,
  ) {
    this.where = lineIndex(file.sql);
    for (const s of statements)
      for (const c of s.comments) for (const id of fileDirective(c.text)) this.fileIgnores.add(id);
  }

  run(): Finding[] {
    const runnable = this.statements.length;
    for (const s of this.statements) {
      this.statement(s);
      if (this.file.noTx && runnable > 1 && s.index === 1)
        this.report(s, 'sqlx-no-transaction-several-statements', {
          message: `-- no-transaction migration with ${runnable} statements (the second starts on line ${s.line})`,
        });
    }
    return this.out;
  }

  private head(s: Statement): string {
    const text = this.file.sql.slice(s.start, s.end);
    const firstLine = text.split('\n', 1)[0]!.trim();
    return firstLine.length > 80 ? `${firstLine.slice(0, 77)}…` : firstLine;
  }

  private report(
    s: Statement,
    rule: string,
    extra: { message?: string; table?: RelName; quickFixes?: QuickFix[]; severity?: Severity } = {},
  ): void {
    const info = RULE_BY_ID.get(rule)!;
    let severity = severityFor(this.options, rule);
    if (!severity || this.suppressed(s, rule)) return;
    const configured = this.options.rules?.[rule] !== undefined;
    if (extra.severity === 'error' && !configured) severity = 'error';
    const facts = extra.table ? this.ctx.facts.get(relKey(extra.table)) : undefined;
    const large = this.options.largeTableBytes ?? DEFAULT_LARGE_TABLE_BYTES;
    if (facts && info.category === 'lock' && facts.bytes > large && !configured) severity = 'error';
    const end = this.where(s.end);
    const what = extra.message ?? info.what.replaceAll('`', '');
    const size = facts ? ` ${relText(extra.table!)}: ${describeFacts(facts)}.` : '';
    this.out.push({
      rule,
      category: info.category,
      severity,
      message: `${what}: line ${s.line}, \`${this.head(s)}\`.${size}`,
      why: info.why,
      fix: info.fix,
      file: this.file.path,
      line: s.line,
      column: s.column,
      endLine: end.line,
      endColumn: end.column,
      start: s.start,
      end: s.end,
      table: extra.table ? relText(extra.table) : undefined,
      tableFacts: facts,
      quickFixes: extra.quickFixes,
    });
  }

  /** `-- tsdb-ops-lint: ignore <rule> <reason>` or `-- squawk-ignore <rule>` in the comments right above. */
  private suppressed(s: Statement, rule: string): boolean {
    if (this.fileIgnores.has(rule) || this.fileIgnores.has('*')) return true;
    const byLine = new Map<number, string[]>();
    for (const c of s.comments) byLine.set(c.line, [...(byLine.get(c.line) ?? []), c.text]);
    for (let line = s.line - 1; byLine.has(line); line--)
      for (const text of byLine.get(line)!) if (lineDirective(text).includes(rule)) return true;
    return false;
  }

  /** Lock findings concern existing tables only: one created earlier in the pending set is new and empty. */
  private existing(r: RelName | undefined): r is RelName {
    return !!r && !this.ctx.isNew(r);
  }

  /** Once per file, like squawk: a lock that blocks reads or writes of an existing table, with no lock_timeout set. */
  private needsLockTimeout(s: Statement, table: RelName | undefined, lock = 'ACCESS EXCLUSIVE'): void {
    if (this.lockTimeoutSet || this.lockTimeoutReported || (table && !this.existing(table))) return;
    this.lockTimeoutReported = true;
    const at = this.statements[0]!;
    this.report(s, 'lock-timeout-missing', {
      message: `${lock} lock${table ? ` on ${relText(table)}` : ''} with no lock_timeout set before it`,
      table,
      quickFixes: [
        {
          title: "Add SET lock_timeout = '5s' at the top of the migration",
          edits: [{ start: at.start, end: at.start, text: "SET lock_timeout = '5s';\n\n" }],
        },
      ],
    });
  }

  private needsNoTx(s: Statement, what: string, fixes?: QuickFix[]): void {
    if (this.file.noTx) {
      // sqlx sends the file as one simple query: with several statements PostgreSQL runs them in an implicit
      // transaction, so the statement fails there too (sqlx#3693).
      if (this.statements.length > 1)
        this.report(s, 'sqlx-needs-no-transaction', {
          message:
            `${what} cannot run in the implicit transaction of a -- no-transaction file with ` +
            `${this.statements.length} statements (sqlx sends it as one query)`,
        });
      return;
    }
    this.report(s, 'sqlx-needs-no-transaction', {
      message: `${what} cannot run inside the transaction sqlx opens (no -- no-transaction header)`,
      quickFixes: fixes ?? this.moveToNoTxFix(s),
    });
  }

  /** The file's only statement: add the header; otherwise move the statement into a new no-transaction migration. */
  private moveToNoTxFix(s: Statement, rewrite?: (text: string) => string): QuickFix[] {
    const text = this.file.sql.slice(s.start, s.end);
    const newText = rewrite ? rewrite(text) : text;
    if (this.statements.length === 1)
      return [
        {
          title: 'Add the -- no-transaction header',
          // One edit from the top: the header, what came before the statement, the statement rewritten.
          edits: [{ start: 0, end: s.end, text: `-- no-transaction\n${this.file.sql.slice(0, s.start)}${newText}` }],
        },
      ];
    return [
      {
        title: 'Move this statement into a new -- no-transaction migration',
        edits: [this.removeEdit(s)],
        newMigration: { description: 'no transaction', sql: `-- no-transaction\n${newText};\n` },
      },
    ];
  }

  private statement(s: Statement): void {
    const n = s.node;
    switch (s.kind) {
      case 'CreateStmt':
        return this.createTable(n);
      case 'AlterTableStmt':
        return this.alterTable(s, n);
      case 'RenameStmt':
        return this.rename(s, n);
      case 'IndexStmt':
        return this.createIndex(s, n);
      case 'DropStmt':
        return this.drop(s, n);
      case 'DropdbStmt':
        this.report(s, 'drop-database', { message: `DROP DATABASE ${str(n.dbname) ?? ''}` });
        return this.needsNoTx(s, 'DROP DATABASE');
      case 'CreatedbStmt':
        return this.needsNoTx(s, 'CREATE DATABASE');
      case 'AlterSystemStmt':
        return this.needsNoTx(s, 'ALTER SYSTEM');
      case 'TruncateStmt': {
        const rels = list(n.relations).map((v) => rangeVar(inner(v, 'RangeVar')));
        const existing = rels.filter((r): r is RelName => this.existing(r));
        if (existing.length === 0) return;
        const cascade = str(n.behavior) === 'DROP_CASCADE';
        this.report(s, 'truncate', {
          message: `TRUNCATE ${existing.map(relText).join(', ')}${cascade ? ' CASCADE (empties every table referring to it too)' : ''}`,
          table: existing[0],
        });
        return this.needsLockTimeout(s, existing[0]!);
      }
      case 'UpdateStmt':
      case 'DeleteStmt': {
        const rel = rangeVar(n.relation);
        if (!n.whereClause && this.existing(rel))
          this.report(s, s.kind === 'UpdateStmt' ? 'update-without-where' : 'delete-without-where', {
            message: `${s.kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE FROM'} ${relText(rel)} without WHERE`,
            table: rel,
          });
        if (rel && s.kind === 'UpdateStmt') this.markRows(rel);
        return;
      }
      case 'InsertStmt': {
        const rel = rangeVar(n.relation);
        if (rel) this.markRows(rel);
        return this.calls(s, n);
      }
      case 'CopyStmt': {
        const rel = rangeVar(n.relation);
        if (rel && n.is_from) this.markRows(rel);
        return;
      }
      case 'VacuumStmt': {
        if (n.is_vacuumcmd !== true) return; // ANALYZE
        const opts = defElems(n.options).map((d) => d.name);
        const rel = list(n.rels)
          .map((v) => rangeVar(inner(v, 'VacuumRelation')?.relation))
          .find((r) => r);
        if (opts.includes('full')) {
          this.report(s, 'vacuum-full', { table: rel });
          this.needsLockTimeout(s, rel);
        }
        return this.needsNoTx(s, 'VACUUM');
      }
      case 'ClusterStmt': {
        const rel = rangeVar(n.relation);
        if (!rel || this.existing(rel)) this.report(s, 'cluster', { table: rel });
        return this.needsLockTimeout(s, rel);
      }
      case 'ReindexStmt': {
        const concurrent = defElems(n.params).some(
          (d) => d.name === 'concurrently' && (d.arg === undefined || isTrue(d.arg)),
        );
        const rel = rangeVar(n.relation);
        if (!concurrent) {
          if (!rel || this.existing(rel)) this.report(s, 'reindex-non-concurrently', { table: rel });
          this.needsLockTimeout(s, rel, 'SHARE');
        } else this.needsNoTx(s, 'REINDEX CONCURRENTLY');
        return;
      }
      case 'TransactionStmt': {
        const kind = str(n.kind) ?? '';
        const control = ['TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK'];
        if (!this.file.noTx && control.includes(kind))
          this.report(s, 'sqlx-transaction-control', {
            message: `${kind.replace('TRANS_STMT_', '')} inside a migration sqlx already runs in a transaction`,
            quickFixes: [{ title: 'Remove this statement', edits: [this.removeEdit(s)] }],
          });
        return;
      }
      case 'VariableSetStmt': {
        if (str(n.name)?.toLowerCase() === 'lock_timeout') {
          const v = list(n.args).map(constText)[0];
          this.lockTimeoutSet = str(n.kind) === 'VAR_SET_VALUE' && v !== undefined && v !== '0';
        }
        return;
      }
      case 'CallStmt': {
        const name = list(inner(n.funccall, 'FuncCall')?.funcname ?? obj(n.funccall)?.funcname)
          .map(sval)
          .at(-1);
        if (name && NO_TX_CALLS.has(name.toLowerCase())) this.needsNoTx(s, `CALL ${name}`);
        return;
      }
      case 'CreateTableAsStmt':
        return this.createTableAs(s, n);
      default:
        return this.calls(s, n);
    }
  }

  private removeEdit(s: Statement): TextEdit {
    const semi = this.file.sql.indexOf(';', s.end);
    const end = semi >= 0 && this.file.sql.slice(s.end, semi).trim() === '' ? semi + 1 : s.end;
    return { start: s.start, end, text: '' };
  }

  private markRows(rel: RelName): void {
    const c = this.ctx.created.get(relKey(rel));
    if (c) c.hasRows = true;
  }

  private createTable(n: Obj): void {
    const rel = rangeVar(n.relation);
    if (!rel) return;
    const key = relKey(rel);
    this.ctx.created.set(key, { hasRows: false });
    const keys: Array<{ name: string; columns: string[] }> = [];
    for (const elt of list(n.tableElts)) {
      const col = inner(elt, 'ColumnDef');
      if (col) {
        for (const c of list(col.constraints).map((x) => inner(x, 'Constraint'))) {
          const t = str(c?.contype);
          if (t === 'CONSTR_PRIMARY' || t === 'CONSTR_UNIQUE')
            keys.push({ name: t === 'CONSTR_PRIMARY' ? 'primary key' : 'unique', columns: [str(col.colname) ?? ''] });
        }
      }
      const con = inner(elt, 'Constraint');
      const t = str(con?.contype);
      if (con && (t === 'CONSTR_PRIMARY' || t === 'CONSTR_UNIQUE'))
        keys.push({
          name: t === 'CONSTR_PRIMARY' ? 'primary key' : 'unique',
          columns: list(con.keys).map((k) => sval(k) ?? ''),
        });
    }
    this.ctx.uniqueKeys.set(key, keys);
  }

  private hypertable(rel: RelName | undefined): KnownHypertable | undefined {
    return rel ? this.ctx.hypertables.get(relKey(rel)) : undefined;
  }

  private alterTable(s: Statement, n: Obj): void {
    if (str(n.objtype) !== 'OBJECT_TABLE') return;
    const rel = rangeVar(n.relation);
    if (!rel) return;
    const existing = this.existing(rel);
    const ht = this.hypertable(rel);
    let needsLock = false;
    for (const cmd of list(n.cmds).map((c) => inner(c, 'AlterTableCmd'))) {
      if (!cmd) continue;
      const sub = str(cmd.subtype) ?? '';
      const colName = str(cmd.name);
      if (sub !== 'AT_SetRelOptions' && sub !== 'AT_ValidateConstraint') needsLock = true;
      if (
        ht?.compressed &&
        [
          'AT_AlterColumnType',
          'AT_SetNotNull',
          'AT_AddConstraint',
          'AT_ValidateConstraint',
          'AT_DropConstraint',
          'AT_EnableRowSecurity',
          'AT_ForceRowSecurity',
        ].includes(sub)
      )
        this.report(s, 'tsdb-alter-compressed-hypertable', {
          message: `${sub.replace('AT_', '')} on ${relText(rel)}, a hypertable with compression enabled`,
          table: rel,
        });
      switch (sub) {
        case 'AT_AlterColumnType':
          if (existing)
            this.report(s, 'column-type-change', {
              message: `ALTER COLUMN ${colName ?? ''} TYPE on ${relText(rel)} rewrites the table`,
              table: rel,
            });
          break;
        case 'AT_AddColumn': {
          const col = inner(cmd.def, 'ColumnDef');
          const constraints = list(col?.constraints).map((c) => inner(c, 'Constraint'));
          const def = constraints.find((c) => str(c?.contype) === 'CONSTR_DEFAULT');
          const notNull = constraints.some((c) => str(c?.contype) === 'CONSTR_NOTNULL');
          const typeName = list(inner(col?.typeName, 'TypeName')?.names ?? obj(col?.typeName)?.names)
            .map(sval)
            .at(-1);
          const volatile = def && funcCalls(def.raw_expr).find((f) => VOLATILE_FUNCTIONS.has(f.name));
          const serial = typeName && SERIAL_TYPES.has(typeName.toLowerCase());
          if (existing && (volatile || serial))
            this.report(s, 'add-column-volatile-default', {
              message: `ADD COLUMN ${str(col?.colname) ?? ''} with ${volatile ? `DEFAULT ${volatile.name}()` : typeName} rewrites ${relText(rel)}`,
              table: rel,
            });
          if (existing && notNull && !def && !serial)
            this.report(s, 'add-column-required', {
              message: `ADD COLUMN ${str(col?.colname) ?? ''} NOT NULL without a default on ${relText(rel)}`,
              table: rel,
            });
          break;
        }
        case 'AT_SetNotNull':
          if (existing)
            this.report(s, 'set-not-null', {
              message: `ALTER COLUMN ${colName ?? ''} SET NOT NULL scans ${relText(rel)}`,
              table: rel,
              quickFixes: colName && list(n.cmds).length === 1 ? this.notNullFix(s, rel, colName) : undefined,
            });
          break;
        case 'AT_AddConstraint': {
          const con = inner(cmd.def, 'Constraint');
          const t = str(con?.contype);
          const name = str(con?.conname);
          if (existing && (t === 'CONSTR_FOREIGN' || t === 'CONSTR_CHECK') && con?.skip_validation !== true)
            this.report(s, 'constraint-not-valid', {
              message: `ADD CONSTRAINT ${name ?? ''} ${t === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK'} without NOT VALID on ${relText(rel)}`,
              table: rel,
              quickFixes: name && list(n.cmds).length === 1 ? this.notValidFix(s, rel, name) : undefined,
            });
          if ((t === 'CONSTR_UNIQUE' || t === 'CONSTR_PRIMARY') && !str(con?.indexname)) {
            if (existing)
              this.report(s, 'unique-constraint-without-index', {
                message:
                  `ADD CONSTRAINT ${name ?? ''} ${t === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} ` +
                  `builds its index under an ACCESS EXCLUSIVE lock on ${relText(rel)}`,
                table: rel,
              });
            this.checkPartitionColumn(
              s,
              rel,
              list(con?.keys).map((k) => sval(k) ?? ''),
              t === 'CONSTR_PRIMARY' ? 'primary key' : 'unique constraint',
            );
          }
          break;
        }
        case 'AT_DropColumn':
          if (existing)
            this.report(s, 'drop-column', { message: `DROP COLUMN ${colName ?? ''} from ${relText(rel)}`, table: rel });
          break;
        case 'AT_SetRelOptions': {
          const compress = defElems(obj(cmd.def)?.List ? obj(obj(cmd.def)!.List)!.items : cmd.def).find(
            (d) => d.name === 'timescaledb.compress',
          );
          if (compress) {
            const on = compress.arg === undefined || isTrue(compress.arg);
            const known = this.hypertable(rel) ?? {};
            this.ctx.hypertables.set(relKey(rel), { ...known, compressed: on });
          }
          break;
        }
      }
    }
    if (needsLock) this.needsLockTimeout(s, rel);
  }

  private notValidFix(s: Statement, rel: RelName, name: string): QuickFix[] {
    return [
      {
        title: 'Add NOT VALID, and VALIDATE it in a new migration',
        edits: [{ start: s.end, end: s.end, text: ' NOT VALID' }],
        newMigration: {
          description: `validate ${name}`,
          sql: `ALTER TABLE ${relSql(rel)} VALIDATE CONSTRAINT ${quoteIdent(name)};\n`,
        },
      },
    ];
  }

  /**
   * SET NOT NULL without the long lock: a NOT VALID check now; in a new migration VALIDATE it (no write lock),
   * then SET NOT NULL, which PostgreSQL 12+ proves from the valid check without a scan, and drop the check.
   */
  private notNullFix(s: Statement, rel: RelName, column: string): QuickFix[] {
    const check = quoteIdent(`${rel.name}_${column}_not_null`);
    const table = relSql(rel);
    return [
      {
        title: 'Use CHECK (… IS NOT NULL) NOT VALID now, VALIDATE and SET NOT NULL in a new migration',
        edits: [
          {
            start: s.start,
            end: s.end,
            text: `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID`,
          },
        ],
        newMigration: {
          description: `${column} not null`,
          sql:
            `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};\n` +
            `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL;\n` +
            `ALTER TABLE ${table} DROP CONSTRAINT ${check};\n`,
        },
      },
    ];
  }

  private checkPartitionColumn(s: Statement, rel: RelName, columns: string[], what: string): void {
    const ht = this.hypertable(rel);
    if (!ht?.partitionColumn || columns.includes(ht.partitionColumn)) return;
    this.report(s, 'tsdb-unique-without-partition-column', {
      message: `${what} (${columns.join(', ')}) on hypertable ${relText(rel)} without its partitioning column ${ht.partitionColumn}`,
      table: rel,
    });
  }

  private rename(s: Statement, n: Obj): void {
    const type = str(n.renameType);
    const rel = rangeVar(n.relation);
    if (!this.existing(rel)) return;
    if (type === 'OBJECT_TABLE') {
      this.report(s, 'rename-table', { message: `RENAME ${relText(rel)} TO ${str(n.newname) ?? ''}`, table: rel });
      this.needsLockTimeout(s, rel);
    } else if (type === 'OBJECT_COLUMN' && str(n.relationType) === 'OBJECT_TABLE') {
      this.report(s, 'rename-column', {
        message: `RENAME COLUMN ${str(n.subname) ?? ''} TO ${str(n.newname) ?? ''} on ${relText(rel)}`,
        table: rel,
      });
      this.needsLockTimeout(s, rel);
    }
  }

  private createIndex(s: Statement, n: Obj): void {
    const rel = rangeVar(n.relation);
    if (!rel) return;
    const ht = this.hypertable(rel);
    const columns = list(n.indexParams).map((p) => str(inner(p, 'IndexElem')?.name) ?? '');
    const perChunk = defElems(n.options).some((d) => d.name === 'timescaledb.transaction_per_chunk');
    if (n.unique === true) {
      this.checkPartitionColumn(s, rel, columns, 'unique index');
      if (ht?.compressed)
        this.report(s, 'tsdb-alter-compressed-hypertable', {
          message: `CREATE UNIQUE INDEX on ${relText(rel)}, a hypertable with compression enabled`,
          table: rel,
        });
    }
    if (n.concurrent === true) {
      if (ht)
        this.report(s, 'tsdb-concurrent-index-on-hypertable', {
          message: `CREATE INDEX CONCURRENTLY on hypertable ${relText(rel)}`,
          table: rel,
        });
      else this.needsNoTx(s, 'CREATE INDEX CONCURRENTLY');
      return;
    }
    if (!this.existing(rel) || perChunk) return;
    this.needsLockTimeout(s, rel, 'SHARE');
    if (ht) {
      this.report(s, 'create-index-non-concurrently', {
        message: `CREATE INDEX on hypertable ${relText(rel)} blocks writes to every chunk; use WITH (timescaledb.transaction_per_chunk)`,
        table: rel,
      });
      return;
    }
    const insertConcurrently = (text: string): string => {
      // The statement starts CREATE [UNIQUE] INDEX: put CONCURRENTLY after the INDEX keyword.
      const words = wordEnds(text, 3);
      const idx = words.find((w) => w.word.toUpperCase() === 'INDEX');
      return idx ? `${text.slice(0, idx.end)} CONCURRENTLY${text.slice(idx.end)}` : text;
    };
    this.report(s, 'create-index-non-concurrently', {
      message: `CREATE INDEX without CONCURRENTLY on ${relText(rel)} blocks writes while it builds`,
      table: rel,
      quickFixes: this.file.noTx ? undefined : this.moveToNoTxFix(s, insertConcurrently),
    });
  }

  private drop(s: Statement, n: Obj): void {
    const type = str(n.removeType);
    const objects = list(n.objects).map((o) => nameList(o));
    if (type === 'OBJECT_TABLE') {
      const existing = objects.filter((r): r is RelName => this.existing(r));
      if (existing.length === 0) return;
      this.report(s, 'drop-table', { message: `DROP TABLE ${existing.map(relText).join(', ')}`, table: existing[0] });
      this.needsLockTimeout(s, existing[0]!);
    } else if (type === 'OBJECT_INDEX') {
      if (n.concurrent === true) return this.needsNoTx(s, 'DROP INDEX CONCURRENTLY');
      this.report(s, 'drop-index-non-concurrently', {
        message: `DROP INDEX ${objects.map((o) => (o ? relText(o) : '')).join(', ')} without CONCURRENTLY`,
      });
      this.needsLockTimeout(s, undefined);
    } else if (type === 'OBJECT_SCHEMA') {
      this.report(s, 'drop-schema', {
        message: `DROP SCHEMA ${list(n.objects).map(sval).join(', ')}${str(n.behavior) === 'DROP_CASCADE' ? ' CASCADE' : ''}`,
      });
      this.needsLockTimeout(s, undefined);
    }
  }

  private createTableAs(s: Statement, n: Obj): void {
    const into = obj(n.into);
    const continuous = defElems(into?.options).some(
      (d) => d.name === 'timescaledb.continuous' && (d.arg === undefined || isTrue(d.arg)),
    );
    const rel = rangeVar(into?.rel);
    if (rel) this.ctx.created.set(relKey(rel), { hasRows: false });
    if (continuous && into?.skipData !== true && !this.file.noTx)
      this.report(s, 'tsdb-continuous-aggregate-with-data', {
        message: `continuous aggregate ${rel ? relText(rel) : ''} created WITH DATA inside the migration's transaction`,
        quickFixes: [{ title: 'Create it WITH NO DATA', edits: [{ start: s.end, end: s.end, text: ' WITH NO DATA' }] }],
      });
  }

  /** TimescaleDB functions called in a SELECT (or anywhere else). */
  private calls(s: Statement, n: Obj): void {
    for (const { name, node } of funcCalls(n)) {
      if (name === 'create_hypertable') this.createHypertable(s, node);
      else if (name === 'drop_chunks' || name === 'add_retention_policy') {
        const target = constText(callArgs(node).positional[0]);
        this.report(s, 'tsdb-drop-chunks', {
          message: `${name}(${target ?? ''}) deletes chunks${name === 'add_retention_policy' ? ' on a schedule' : ''}`,
          table: target ? regclassText(target) : undefined,
        });
      } else if (NO_TX_CALLS.has(name)) this.needsNoTx(s, `${name}()`);
    }
  }

  private createHypertable(s: Statement, f: Obj): void {
    const { positional, named } = callArgs(f);
    const tableText = constText(named.get('relation') ?? positional[0]);
    if (!tableText) return;
    const rel = regclassText(tableText);
    const key = relKey(rel);
    // create_hypertable('t', 'time') or the 2.13+ form create_hypertable('t', by_range('time')).
    const dim = named.get('time_column_name') ?? named.get('dimension') ?? positional[1];
    const byRange = inner(dim, 'FuncCall');
    const column = (byRange ? constText(list(byRange.args)[0]) : constText(dim))?.toLowerCase();
    const migrate = named.has('migrate_data') && isTrue(named.get('migrate_data'));
    const created = this.ctx.created.get(key);
    const facts = this.ctx.facts.get(key);
    if (!migrate) {
      if (created?.hasRows)
        this.report(s, 'tsdb-hypertable-migrate-data', {
          message: `create_hypertable('${tableText}') without migrate_data => true after rows were inserted into it`,
          table: rel,
          severity: 'error',
        });
      else if (!created && facts && (facts.rows > 0 || (facts.rows < 0 && facts.bytes > 16384)))
        this.report(s, 'tsdb-hypertable-migrate-data', {
          message: `create_hypertable('${tableText}') without migrate_data => true on a table with rows`,
          table: rel,
          severity: 'error',
        });
      else if (!created && !facts)
        this.report(s, 'tsdb-hypertable-migrate-data', {
          message: `create_hypertable('${tableText}') without migrate_data => true on a table not created in the pending migrations (it may have rows)`,
          table: rel,
        });
    }
    this.ctx.hypertables.set(key, { partitionColumn: column, compressed: false });
    for (const k of this.ctx.uniqueKeys.get(key) ?? [])
      if (column && !k.columns.includes(column))
        this.report(s, 'tsdb-unique-without-partition-column', {
          message: `${tableText} has a ${k.name} (${k.columns.join(', ')}) without the partitioning column ${column}`,
          table: rel,
        });
  }
}

/** An identifier as SQL: bare when PostgreSQL would keep it as written (lower case), else double-quoted. */
function quoteIdent(name: string): string {
  let bare = name.length > 0 && !(name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57);
  for (let i = 0; i < name.length && bare; i++) {
    const c = name.charCodeAt(i);
    bare = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
  }
  return bare ? name : `"${name.replaceAll('"', '""')}"`;
}

function relSql(r: RelName): string {
  return r.schema ? `${quoteIdent(r.schema)}.${quoteIdent(r.name)}` : quoteIdent(r.name);
}

/** The first `count` words of a statement (letters, digits, _), with where each ends: a tokenizer, not a pattern. */
function wordEnds(text: string, count: number): Array<{ word: string; end: number }> {
  const out: Array<{ word: string; end: number }> = [];
  let i = 0;
  while (i < text.length && out.length < count) {
    while (i < text.length && !isWordChar(text.charCodeAt(i))) i++;
    const start = i;
    while (i < text.length && isWordChar(text.charCodeAt(i))) i++;
    if (i > start) out.push({ word: text.slice(start, i), end: i });
  }
  return out;
}

function isWordChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
}

/** Rule ids a comment's directive names: `tsdb-ops-lint: ignore <rule>[,rule] <reason>` or `squawk-ignore <rules>`. */
export function lineDirective(comment: string): string[] {
  const body = commentBody(comment);
  const ours = afterPrefix(body, 'tsdb-ops-lint:');
  if (ours !== undefined) {
    const [verb, rules] = ours.trim().split(/\s+/, 2);
    return verb === 'ignore' && rules ? expand(rules.split(',')) : [];
  }
  const squawk = afterPrefix(body, 'squawk-ignore ');
  return squawk !== undefined ? expand(squawk.split(',').map((x) => x.trim())) : [];
}

/** `-- squawk-ignore-file [rules]` or `-- tsdb-ops-lint: ignore-file <rules> <reason>`. */
function fileDirective(comment: string): string[] {
  const body = commentBody(comment);
  const squawk = afterPrefix(body, 'squawk-ignore-file');
  if (squawk !== undefined) {
    const rules = squawk
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    return rules.length ? expand(rules) : ['*'];
  }
  const ours = afterPrefix(body, 'tsdb-ops-lint:');
  if (ours !== undefined) {
    const [verb, rules] = ours.trim().split(/\s+/, 2);
    return verb === 'ignore-file' && rules ? expand(rules.split(',')) : [];
  }
  return [];
}

function commentBody(comment: string): string {
  const t = comment.startsWith('--') ? comment.slice(2) : comment.startsWith('/*') ? comment.slice(2, -2) : comment;
  return t.trim();
}

function afterPrefix(s: string, prefix: string): string | undefined {
  return s.toLowerCase().startsWith(prefix) ? s.slice(prefix.length) : undefined;
}

/** Our ids stay; squawk names map to ours. */
function expand(names: string[]): string[] {
  return names.flatMap((n) => {
    const id = n.trim().toLowerCase();
    return RULE_BY_ID.has(id) ? [id] : (FROM_SQUAWK.get(id) ?? []);
  });
}
