import { defElems, inner, list, rangeVar } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'vacuum-full',
  category: 'lock',
  severity: 'warning',
  what: '`VACUUM FULL`',
  why: 'It rewrites the table under an ACCESS EXCLUSIVE lock (and cannot run in a transaction).',
  fix: 'Use plain `VACUUM`, or pg_repack, outside migrations.',
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'VacuumStmt' || n.is_vacuumcmd !== true) return; // ANALYZE is not a VACUUM
    if (!defElems(n.options).some((d) => d.name === 'full')) return;
    const rel = list(n.rels)
      .map((v) => rangeVar(inner(v, 'VacuumRelation')?.relation))
      .find((r) => r);
    ctx.report(s, { table: rel });
  }),
});
