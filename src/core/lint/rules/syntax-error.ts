import { defineRule } from '../rule-api';

/** Reported by the linter itself when the parser refuses a file (no check of its own). */
export const rule = defineRule({
  id: 'syntax-error',
  category: 'parse',
  severity: 'error',
  what: 'A statement PostgreSQL cannot parse',
  why: 'The migration fails at the first bad statement.',
  fix: 'Correct the SQL at the position shown.',
});
