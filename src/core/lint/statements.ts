/** Readings of parse trees that several rules share: the commands of an ALTER TABLE, a new column, TimescaleDB calls. */
import { callArgs, constText, defElems, funcCalls, inner, isTrue, list, obj, rangeVar, regclassText } from './ast';
import { relText, str, sval, type Obj, type RelName } from './ast';
import type { Statement } from './parser';

export interface AlterCommand {
  /** e.g. `AT_AddColumn`. */
  readonly subtype: string;
  /** The column it names, if any. */
  readonly column?: string;
  readonly node: Obj;
}

/** An `ALTER TABLE` of a table: the table and its commands in order; undefined for any other statement. */
export function alterCommands(
  s: Statement,
): { rel: RelName; relText: string; count: number; cmds: AlterCommand[] } | undefined {
  const n = s.node;
  if (s.kind !== 'AlterTableStmt' || str(n.objtype) !== 'OBJECT_TABLE') return undefined;
  const rel = rangeVar(n.relation);
  if (!rel) return undefined;
  const cmds = list(n.cmds)
    .map((c) => inner(c, 'AlterTableCmd'))
    .filter((c): c is Obj => !!c)
    .map((c) => ({ subtype: str(c.subtype) ?? '', column: str(c.name), node: c }));
  return { rel, relText: relText(rel), count: list(n.cmds).length, cmds };
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

/** Functions that cannot run inside a transaction block. */
export const NO_TX_CALLS: ReadonlySet<string> = new Set(['refresh_continuous_aggregate']);

/** The column an `ADD COLUMN` command adds: its default (the volatile function it calls), NOT NULL, serial type. */
export function addedColumn(cmd: Obj): {
  name: string;
  typeName?: string;
  hasDefault: boolean;
  volatileDefault?: string;
  notNull: boolean;
  serial: boolean;
} {
  const col = inner(cmd.def, 'ColumnDef');
  const constraints = list(col?.constraints).map((c) => inner(c, 'Constraint'));
  const def = constraints.find((c) => str(c?.contype) === 'CONSTR_DEFAULT');
  const typeName = list(inner(col?.typeName, 'TypeName')?.names ?? obj(col?.typeName)?.names)
    .map(sval)
    .at(-1);
  return {
    name: str(col?.colname) ?? '',
    typeName,
    hasDefault: !!def,
    volatileDefault: def ? funcCalls(def.raw_expr).find((f) => VOLATILE_FUNCTIONS.has(f.name))?.name : undefined,
    notNull: constraints.some((c) => str(c?.contype) === 'CONSTR_NOTNULL'),
    serial: !!typeName && SERIAL_TYPES.has(typeName.toLowerCase()),
  };
}

/** An `ADD CONSTRAINT … UNIQUE / PRIMARY KEY` that builds its own index (no `USING INDEX`). */
export function addedKey(cmd: AlterCommand): { name?: string; primary: boolean; columns: string[] } | undefined {
  if (cmd.subtype !== 'AT_AddConstraint') return undefined;
  const con = inner(cmd.node.def, 'Constraint');
  const t = str(con?.contype);
  if ((t !== 'CONSTR_UNIQUE' && t !== 'CONSTR_PRIMARY') || str(con?.indexname)) return undefined;
  return {
    name: str(con?.conname),
    primary: t === 'CONSTR_PRIMARY',
    columns: list(con?.keys).map((k) => sval(k) ?? ''),
  };
}

/** Statement kinds whose function calls are not looked at (the statement itself is what matters there). */
const WITHOUT_CALLS = new Set([
  'CreateStmt',
  'AlterTableStmt',
  'RenameStmt',
  'IndexStmt',
  'DropStmt',
  'DropdbStmt',
  'CreatedbStmt',
  'AlterSystemStmt',
  'TruncateStmt',
  'UpdateStmt',
  'DeleteStmt',
  'CopyStmt',
  'VacuumStmt',
  'ClusterStmt',
  'ReindexStmt',
  'TransactionStmt',
  'VariableSetStmt',
  'CallStmt',
  'CreateTableAsStmt',
]);

/** Function calls of a statement that runs them (a SELECT, an INSERT …), e.g. TimescaleDB's API. */
export function statementCalls(s: Statement): Array<{ name: string; node: Obj }> {
  return WITHOUT_CALLS.has(s.kind) ? [] : funcCalls(s.node);
}

/** `create_hypertable('t', 'time')` or the 2.13+ form `create_hypertable('t', by_range('time'))`. */
export function hypertableCall(
  f: Obj,
): { text: string; rel: RelName; column?: string; migrateData: boolean } | undefined {
  const { positional, named } = callArgs(f);
  const text = constText(named.get('relation') ?? positional[0]);
  if (!text) return undefined;
  const dim = named.get('time_column_name') ?? named.get('dimension') ?? positional[1];
  const byRange = inner(dim, 'FuncCall');
  const column = (byRange ? constText(list(byRange.args)[0]) : constText(dim))?.toLowerCase();
  const migrateData = named.has('migrate_data') && isTrue(named.get('migrate_data'));
  return { text, rel: regclassText(text), column, migrateData };
}

/** `timescaledb.compress` in an `ALTER TABLE … SET (…)` command: on/off, undefined when not named. */
export function compressOption(cmd: AlterCommand): boolean | undefined {
  if (cmd.subtype !== 'AT_SetRelOptions') return undefined;
  const def = cmd.node.def;
  const compress = defElems(obj(def)?.List ? obj(obj(def)!.List)!.items : def).find(
    (d) => d.name === 'timescaledb.compress',
  );
  return compress ? compress.arg === undefined || isTrue(compress.arg) : undefined;
}

/** The options of an index statement: its table, columns, UNIQUE, CONCURRENTLY, per-chunk transactions. */
export function indexStatement(
  s: Statement,
): { rel: RelName; columns: string[]; unique: boolean; concurrent: boolean; perChunk: boolean } | undefined {
  if (s.kind !== 'IndexStmt') return undefined;
  const n = s.node;
  const rel = rangeVar(n.relation);
  if (!rel) return undefined;
  return {
    rel,
    columns: list(n.indexParams).map((p) => str(inner(p, 'IndexElem')?.name) ?? ''),
    unique: n.unique === true,
    concurrent: n.concurrent === true,
    perChunk: defElems(n.options).some((d) => d.name === 'timescaledb.transaction_per_chunk'),
  };
}
