/**
 * What the pending set has done so far, on top of what the database says: tables created (and whether rows went
 * into them), hypertables and their compression, unique keys of new tables. Rules read it; `before`/`after`
 * advance it around each statement, so every rule of a statement sees the same state.
 */
import { inner, list, obj, rangeVar, relKey, str, sval, type Obj, type RelName } from './ast';
import type { Statement } from './parser';
import type { TableFacts } from './types';
import { alterCommands, compressOption, hypertableCall, statementCalls } from './statements';

export interface KnownHypertable {
  partitionColumn?: string;
  compressed: boolean;
}

export interface UniqueKey {
  readonly name: string;
  readonly columns: string[];
}

export class SetContext {
  /** Tables created earlier in the pending set, and whether rows went into them. */
  readonly created = new Map<string, { hasRows: boolean }>();
  readonly hypertables = new Map<string, KnownHypertable>();
  /** Unique keys (column lists) of tables created in the set, to check when they become hypertables. */
  readonly uniqueKeys = new Map<string, UniqueKey[]>();
  readonly facts = new Map<string, TableFacts>();
  readonly sizesKnown: boolean;

  constructor(tables: readonly TableFacts[] | undefined) {
    this.sizesKnown = tables !== undefined;
    for (const t of tables ?? []) {
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

  /** Lock findings concern existing tables only: one created earlier in the pending set is new and empty. */
  existing(r: RelName | undefined): r is RelName {
    return !!r && !this.isNew(r);
  }

  hypertable(rel: RelName | undefined): KnownHypertable | undefined {
    return rel ? this.hypertables.get(relKey(rel)) : undefined;
  }

  /** Before the rules see a statement: tables it creates, rows it writes. */
  before(s: Statement): void {
    const n = s.node;
    switch (s.kind) {
      case 'CreateStmt':
        return this.createTable(n);
      case 'CreateTableAsStmt': {
        const rel = rangeVar(obj(n.into)?.rel);
        if (rel) this.created.set(relKey(rel), { hasRows: false });
        return;
      }
      case 'InsertStmt':
      case 'UpdateStmt':
        return this.markRows(rangeVar(n.relation));
      case 'CopyStmt':
        if (n.is_from) this.markRows(rangeVar(n.relation));
        return;
    }
  }

  /** After the rules saw a statement: hypertables it made, compression it switched. */
  after(s: Statement): void {
    for (const { name, node } of statementCalls(s)) {
      const call = name === 'create_hypertable' ? hypertableCall(node) : undefined;
      if (call) this.hypertables.set(relKey(call.rel), { partitionColumn: call.column, compressed: false });
    }
    const alter = alterCommands(s);
    for (const cmd of alter?.cmds ?? []) {
      const on = compressOption(cmd);
      if (alter && on !== undefined)
        this.hypertables.set(relKey(alter.rel), { ...(this.hypertable(alter.rel) ?? {}), compressed: on });
    }
  }

  private markRows(rel: RelName | undefined): void {
    const c = rel && this.created.get(relKey(rel));
    if (c) c.hasRows = true;
  }

  private createTable(n: Obj): void {
    const rel = rangeVar(n.relation);
    if (!rel) return;
    const key = relKey(rel);
    this.created.set(key, { hasRows: false });
    const keys: UniqueKey[] = [];
    const keyName = (t: string | undefined) => (t === 'CONSTR_PRIMARY' ? 'primary key' : 'unique');
    const isKey = (t: string | undefined) => t === 'CONSTR_PRIMARY' || t === 'CONSTR_UNIQUE';
    for (const elt of list(n.tableElts)) {
      const col = inner(elt, 'ColumnDef');
      if (col)
        for (const c of list(col.constraints).map((x) => inner(x, 'Constraint')))
          if (isKey(str(c?.contype))) keys.push({ name: keyName(str(c?.contype)), columns: [str(col.colname) ?? ''] });
      const con = inner(elt, 'Constraint');
      if (con && isKey(str(con.contype)))
        keys.push({ name: keyName(str(con.contype)), columns: list(con.keys).map((k) => sval(k) ?? '') });
    }
    this.uniqueKeys.set(key, keys);
  }
}
