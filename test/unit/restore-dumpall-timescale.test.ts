/**
 * How a pg_dumpall script is read and filtered on its way to psql: its `\connect` sections, the
 * extensions each creates, and TimescaleDB's restore procedure (pre_restore after CREATE EXTENSION,
 * post_restore at the section's end) added per database, one at a time.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { connectTarget, dumpAllFilter, dumpAllSections } from '../../src/core/backups/restore/logical';

// The shape pg_dumpall 15.18 writes (\restrict lines included), shortened.
const script = [
  '-- PostgreSQL database cluster dump',
  '\\restrict KEY1',
  'CREATE ROLE admin1234;',
  '\\unrestrict KEY1',
  '\\connect template1',
  '\\restrict KEY2',
  '\\unrestrict KEY2',
  'CREATE DATABASE metrics WITH TEMPLATE = template0;',
  '\\connect metrics',
  '\\restrict KEY3',
  "SELECT pg_catalog.set_config('search_path', '', false);",
  'CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public;',
  'CREATE EXTENSION IF NOT EXISTS timescaledb_toolkit WITH SCHEMA public;',
  'COPY _timescaledb_catalog.hypertable (id) FROM stdin;',
  '1',
  '\\.',
  '\\unrestrict KEY3',
  'CREATE DATABASE "Plain ""db""" WITH TEMPLATE = template0;',
  '\\connect -reuse-previous=on "dbname=\'Plain "db" it\'\'s\'"',
  'CREATE TABLE public.t (id integer);',
  '\\connect postgres',
  'CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA tsdb;',
  'SELECT 1;',
  '--',
  '-- PostgreSQL database cluster dump complete',
  '--',
];

async function filtered(chunks: string[], opts: Parameters<typeof dumpAllFilter>[0]): Promise<string[]> {
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks)
      .pipe(dumpAllFilter(opts))
      .on('data', (c: Buffer) => out.push(c.toString()))
      .on('end', resolve)
      .on('error', reject);
  });
  return out.join('').split('\n');
}

describe('restore: pg_dumpall sections and the TimescaleDB restore procedure', () => {
  it('reads the database of plain and -reuse-previous \\connect lines', () => {
    assert.equal(connectTarget('\\connect metrics'), 'metrics');
    assert.equal(connectTarget('\\connect "My ""Shop"""'), 'My "Shop"');
    assert.equal(connectTarget("\\connect -reuse-previous=on \"dbname='it''s'\""), "it's");
    assert.equal(connectTarget('CREATE TABLE x'), undefined);
  });

  it('lists each section with the extensions it creates and whether it loads TimescaleDB catalog rows', () => {
    assert.deepEqual(dumpAllSections(script), [
      { database: 'template1', extensions: [], timescaleCatalogData: false },
      { database: 'metrics', extensions: ['timescaledb', 'timescaledb_toolkit'], timescaleCatalogData: true },
      { database: 'Plain "db" it\'s', extensions: [], timescaleCatalogData: false },
      { database: 'postgres', extensions: ['timescaledb'], timescaleCatalogData: false },
    ]);
  });

  it('adds pre_restore after CREATE EXTENSION timescaledb and post_restore at the end of that section only', async () => {
    const pre: string[] = [];
    const text = script.join('\n') + '\n';
    // Chunks cut mid-line, and a multi-byte character split between two chunks.
    const bytes = Buffer.from(text.replace('SELECT 1;', "SELECT 'é';"));
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    const out: string[] = [];
    await new Promise<void>((resolve, reject) => {
      Readable.from([bytes.subarray(0, 13), bytes.subarray(13, cut), bytes.subarray(cut)])
        .pipe(
          dumpAllFilter({
            existingRoles: new Set(['admin1234']),
            timescaledb: true,
            onPreRestore: (db, schema) => pre.push(`${db}:${schema}`),
          }),
        )
        .on('data', (c: Buffer) => out.push(c.toString()))
        .on('end', resolve)
        .on('error', reject);
    });
    const got = out.join('').split('\n');
    const at = (l: string) => got.indexOf(l);
    assert.equal(got[at('\\restrict KEY1') + 1], '-- tsdb-ops: role admin1234 exists, CREATE ROLE skipped');
    const ext = at('CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public;');
    assert.equal(got[ext + 2], 'SELECT public.timescaledb_pre_restore();');
    // metrics ends at the next \connect: post_restore comes before it (after \unrestrict: SQL is allowed there).
    const next = at('\\connect -reuse-previous=on "dbname=\'Plain "db" it\'\'s\'"');
    assert.equal(got[next - 1], 'SELECT public.timescaledb_post_restore();');
    assert.ok(ext < next);
    // The plain database gets nothing; postgres (schema tsdb) gets its own pair before the end marker.
    assert.equal(got.filter((l) => /timescaledb_(pre|post)_restore/.test(l)).length, 4);
    const end = at('-- PostgreSQL database cluster dump complete');
    assert.equal(got[end - 1], 'SELECT tsdb.timescaledb_post_restore();');
    assert.ok(got.includes("SELECT 'é';"), 'a character split between chunks stays whole');
    assert.deepEqual(pre, ['metrics:public', 'postgres:tsdb']);
  });

  it('without TimescaleDB only skips existing roles; the script is otherwise unchanged', async () => {
    const lines = await filtered([script.join('\n') + '\n'], { existingRoles: new Set() });
    assert.deepEqual(lines, [...script, '']);
  });

  it('closes a section that runs to the end of a script without the end marker', async () => {
    const lines = await filtered(
      ['\\connect m\nCREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public;\nSELECT 1;'],
      {
        timescaledb: true,
      },
    );
    assert.equal(lines.at(-1), 'SELECT public.timescaledb_post_restore();');
  });
});
