import {
  defElems,
  inner,
  isTrue,
  list,
  nameList,
  rangeVar,
  relText,
  str,
  constText,
  type Obj,
  type RelName,
} from '../ast';
import type { Statement } from '../parser';
import type { SetContext } from '../set-context';
import { alterCommands, indexStatement } from '../statements';
import { defineRule } from '../rule-api';

export const rule = defineRule({
  id: 'lock-timeout-missing',
  category: 'lock',
  severity: 'warning',
  what: 'An ACCESS EXCLUSIVE statement with no `SET lock_timeout` before it',
  why: 'Waiting for the lock queues every later query on the table behind it: a short lock becomes an outage.',
  fix: "`SET lock_timeout = '5s';` at the top of the migration (retry if it times out).",
  squawk: ['require-lock-timeout'],
  // Once per file, like squawk: a lock that blocks reads or writes of an existing table, with no lock_timeout set.
  start: (ctx) => {
    let timeoutSet = false;
    let reported = false;
    return (s, n) => {
      if (s.kind === 'VariableSetStmt' && str(n.name)?.toLowerCase() === 'lock_timeout') {
        const v = list(n.args).map(constText)[0];
        timeoutSet = str(n.kind) === 'VAR_SET_VALUE' && v !== undefined && v !== '0';
        return;
      }
      const taken = lockTaken(s, n, ctx.set);
      if (!taken || timeoutSet || reported || (taken.table && !ctx.set.existing(taken.table))) return;
      reported = true;
      const at = ctx.statements[0]!;
      ctx.report(s, {
        message: `${taken.lock} lock${taken.table ? ` on ${relText(taken.table)}` : ''} with no lock_timeout set before it`,
        table: taken.table,
        quickFixes: [
          {
            title: "Add SET lock_timeout = '5s' at the top of the migration",
            edits: [{ start: at.start, end: at.start, text: "SET lock_timeout = '5s';\n\n" }],
          },
        ],
      });
    };
  },
});

type Lock = { lock: 'ACCESS EXCLUSIVE' | 'SHARE'; table?: RelName };

/** The lock a statement takes that blocks reads or writes of a table (the table when known). */
function lockTaken(s: Statement, n: Obj, set: SetContext): Lock | undefined {
  const exclusive = (table: RelName | undefined): Lock => ({ lock: 'ACCESS EXCLUSIVE', table });
  switch (s.kind) {
    case 'TruncateStmt': {
      const rels = list(n.relations).map((v) => rangeVar(inner(v, 'RangeVar')));
      const existing = rels.find((r): r is RelName => set.existing(r));
      return existing ? exclusive(existing) : undefined;
    }
    case 'VacuumStmt': {
      const full = n.is_vacuumcmd === true && defElems(n.options).some((d) => d.name === 'full');
      const rel = list(n.rels)
        .map((v) => rangeVar(inner(v, 'VacuumRelation')?.relation))
        .find((r) => r);
      return full ? exclusive(rel) : undefined;
    }
    case 'ClusterStmt':
      return exclusive(rangeVar(n.relation));
    case 'ReindexStmt': {
      const concurrent = defElems(n.params).some(
        (d) => d.name === 'concurrently' && (d.arg === undefined || isTrue(d.arg)),
      );
      return concurrent ? undefined : { lock: 'SHARE', table: rangeVar(n.relation) };
    }
    case 'AlterTableStmt': {
      const alter = alterCommands(s);
      const locking = alter?.cmds.some(
        (c) => c.subtype !== 'AT_SetRelOptions' && c.subtype !== 'AT_ValidateConstraint',
      );
      return alter && locking ? exclusive(alter.rel) : undefined;
    }
    case 'RenameStmt': {
      const rel = rangeVar(n.relation);
      if (!set.existing(rel)) return undefined;
      const type = str(n.renameType);
      const column = type === 'OBJECT_COLUMN' && str(n.relationType) === 'OBJECT_TABLE';
      return type === 'OBJECT_TABLE' || column ? exclusive(rel) : undefined;
    }
    case 'IndexStmt': {
      const ix = indexStatement(s);
      if (!ix || ix.concurrent || ix.perChunk || !set.existing(ix.rel)) return undefined;
      return { lock: 'SHARE', table: ix.rel };
    }
    case 'DropStmt': {
      const type = str(n.removeType);
      if (type === 'OBJECT_TABLE') {
        const existing = list(n.objects)
          .map((o) => nameList(o))
          .find((r): r is RelName => set.existing(r));
        return existing ? exclusive(existing) : undefined;
      }
      if (type === 'OBJECT_INDEX') return n.concurrent === true ? undefined : exclusive(undefined);
      return type === 'OBJECT_SCHEMA' ? exclusive(undefined) : undefined;
    }
  }
  return undefined;
}
