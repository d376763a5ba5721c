import { str } from '../ast';
import { removeEdit } from '../fixes';
import { defineRule, eachStatement } from '../rule-api';

const CONTROL = ['TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK'];

export const rule = defineRule({
  id: 'sqlx-transaction-control',
  category: 'sqlx',
  severity: 'error',
  what: '`BEGIN` / `COMMIT` / `ROLLBACK` inside a transactional migration',
  why: 'sqlx already opened a transaction: a COMMIT ends it early, so a later failure leaves the migration half applied.',
  fix: 'Remove them (sqlx wraps the file), or use `-- no-transaction` on purpose.',
  start: eachStatement((s, n, ctx) => {
    const kind = str(n.kind) ?? '';
    if (s.kind !== 'TransactionStmt' || ctx.file.noTx || !CONTROL.includes(kind)) return;
    ctx.report(s, {
      message: `${kind.replace('TRANS_STMT_', '')} inside a migration sqlx already runs in a transaction`,
      quickFixes: [{ title: 'Remove this statement', edits: [removeEdit(ctx.file, s)] }],
    });
  }),
});
