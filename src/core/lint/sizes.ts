/** What the live database says about its tables: size, row estimate, hypertable with chunks and compression. */
import type { ClientBase } from 'pg';
import type { TableFacts } from './lint';

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid)::float8 AS bytes, c.reltuples::float8 AS rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb\\_%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

// TimescaleDB 2.x views; hypertable_size covers every chunk (the root table itself is empty).
const HYPERTABLES_SQL = `
SELECT h.hypertable_schema AS schema, h.hypertable_name AS name, h.num_chunks AS chunks,
       h.compression_enabled AS compressed,
       hypertable_size(format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass)::float8 AS bytes,
       approximate_row_count(format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass)::float8 AS rows,
       (SELECT d.column_name FROM timescaledb_information.dimensions d
         WHERE d.hypertable_schema = h.hypertable_schema AND d.hypertable_name = h.hypertable_name
         ORDER BY d.dimension_number LIMIT 1) AS partition_column
FROM timescaledb_information.hypertables h`;

/** Reads every user table; hypertables when the timescaledb extension is installed in this database. */
export async function readTableFacts(client: Pick<ClientBase, 'query'>): Promise<TableFacts[]> {
  const tables = await client.query<{ schema: string; name: string; bytes: number; rows: number }>(TABLES_SQL);
  const facts = new Map<string, TableFacts>();
  for (const t of tables.rows)
    facts.set(`${t.schema}.${t.name}`, {
      schema: t.schema,
      name: t.name,
      bytes: Number(t.bytes),
      rows: Number(t.rows),
      hypertable: false,
    });
  const ext = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
  if (ext.rowCount) {
    const ht = await client.query<{
      schema: string;
      name: string;
      chunks: number;
      compressed: boolean;
      bytes: number;
      rows: number;
      partition_column: string | null;
    }>(HYPERTABLES_SQL);
    for (const h of ht.rows)
      facts.set(`${h.schema}.${h.name}`, {
        schema: h.schema,
        name: h.name,
        bytes: Number(h.bytes),
        rows: Number(h.rows),
        hypertable: true,
        chunks: Number(h.chunks),
        compressionEnabled: h.compressed,
        partitionColumn: h.partition_column ?? undefined,
      });
  }
  return [...facts.values()];
}
