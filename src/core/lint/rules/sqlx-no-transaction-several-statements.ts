import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'sqlx-no-transaction-several-statements',
  category: 'sqlx',
  severity: 'warning',
  what: 'A `-- no-transaction` migration with several statements',
  why:
    'A failure leaves it half applied and unrecorded; and the statements still share one implicit transaction, ' +
    'so a statement that needs none fails anyway.',
  fix: 'One statement per `-- no-transaction` migration.',
  start: eachStatement((s, _n, ctx) => {
    const count = ctx.statements.length;
    if (ctx.file.noTx && count > 1 && s.index === 1)
      ctx.report(s, {
        message: `-- no-transaction migration with ${count} statements (the second starts on line ${s.line})`,
      });
  }),
});
