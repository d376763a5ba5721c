import { defElems, inner, isTrue, list, obj, sval, str, type Obj } from '../ast';
import { moveToNoTxFix } from '../fixes';
import type { Statement } from '../parser';
import type { SetContext } from '../set-context';
import { indexStatement, NO_TX_CALLS, statementCalls } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'sqlx-needs-no-transaction',
  category: 'sqlx',
  severity: 'error',
  what:
    '`CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY`, `VACUUM`, `CREATE/DROP DATABASE`, `ALTER SYSTEM`, ' +
    '`refresh_continuous_aggregate` in a migration without `-- no-transaction`',
  why: 'sqlx runs the file inside a transaction: PostgreSQL refuses with "cannot run inside a transaction block".',
  fix: 'Put the statement alone in a migration whose first line is `-- no-transaction`.',
  squawk: ['ban-concurrent-index-creation-in-transaction'],
  start: eachStatement((s, n, ctx) => {
    for (const what of outsideTransaction(s, n, ctx.set)) {
      if (ctx.file.noTx) {
        // sqlx sends the file as one simple query: with several statements PostgreSQL runs them in an implicit
        // transaction, so the statement fails there too (sqlx#3693).
        if (ctx.statements.length > 1)
          ctx.report(s, {
            message:
              `${what} cannot run in the implicit transaction of a -- no-transaction file with ` +
              `${ctx.statements.length} statements (sqlx sends it as one query)`,
          });
        continue;
      }
      ctx.report(s, {
        message: `${what} cannot run inside the transaction sqlx opens (no -- no-transaction header)`,
        quickFixes: moveToNoTxFix(ctx.file, ctx.statements, s),
      });
    }
  }),
});

/** What in a statement cannot run inside a transaction block (usually nothing, sometimes several calls). */
function outsideTransaction(s: Statement, n: Obj, set: SetContext): string[] {
  switch (s.kind) {
    case 'DropdbStmt':
      return ['DROP DATABASE'];
    case 'CreatedbStmt':
      return ['CREATE DATABASE'];
    case 'AlterSystemStmt':
      return ['ALTER SYSTEM'];
    case 'VacuumStmt':
      return n.is_vacuumcmd === true ? ['VACUUM'] : [];
    case 'ReindexStmt': {
      const concurrent = defElems(n.params).some(
        (d) => d.name === 'concurrently' && (d.arg === undefined || isTrue(d.arg)),
      );
      return concurrent ? ['REINDEX CONCURRENTLY'] : [];
    }
    case 'CallStmt': {
      const name = list(inner(n.funccall, 'FuncCall')?.funcname ?? obj(n.funccall)?.funcname)
        .map(sval)
        .at(-1);
      return name && NO_TX_CALLS.has(name.toLowerCase()) ? [`CALL ${name}`] : [];
    }
    case 'IndexStmt': {
      // On a hypertable TimescaleDB refuses CONCURRENTLY anyway: tsdb-concurrent-index-on-hypertable says so.
      const ix = indexStatement(s);
      return ix?.concurrent && !set.hypertable(ix.rel) ? ['CREATE INDEX CONCURRENTLY'] : [];
    }
    case 'DropStmt':
      return str(n.removeType) === 'OBJECT_INDEX' && n.concurrent === true ? ['DROP INDEX CONCURRENTLY'] : [];
  }
  return statementCalls(s)
    .filter((c) => NO_TX_CALLS.has(c.name))
    .map((c) => `${c.name}()`);
}
