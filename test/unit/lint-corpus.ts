/** The lint corpus (test/fixtures/lint: a bad and a good case per rule) and the table facts it is linted with. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LintFile, TableFacts } from '../../src/core/lint/lint';

export const CORPUS = join(__dirname, '..', 'fixtures', 'lint');

/** What the database would say about the corpus's existing tables (the sizes integration test reads real ones). */
export const CORPUS_TABLES: TableFacts[] = [
  { schema: 'public', name: 'sensors', bytes: 50 * 2 ** 20, rows: 100_000, hypertable: false },
  { schema: 'public', name: 'events', bytes: 10 * 2 ** 20, rows: 5_000, hypertable: false },
  { schema: 'public', name: 'old_readings', bytes: 2 ** 20, rows: 10, hypertable: false },
  {
    schema: 'public',
    name: 'readings',
    bytes: 2 * 2 ** 30,
    rows: 40_000_000,
    hypertable: true,
    chunks: 12,
    compressionEnabled: true,
    partitionColumn: 'ts',
  },
];

export function corpusFile(rule: string, kind: 'bad' | 'good'): LintFile {
  const path = join(CORPUS, rule, `${kind}.sql`);
  const sql = readFileSync(path, 'utf8');
  return { path, sql, noTx: sql.startsWith('-- no-transaction') };
}
