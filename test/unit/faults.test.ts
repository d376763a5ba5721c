/** The fault matrix's pure parts (issue 29): a full disk named as such, the no-transaction way back, the results merge. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoDiskFullOr } from '../../src/core/backups/pgbackrest-disk';
import { PgBackRestError } from '../../src/core/errors/backups';
import { dfAvailable, isDiskFull } from '../../src/core/backups/dump-disk';
import { claimPartial, sweepAbandonedPartials } from '../../src/core/backups/dump-owner';
import { concurrentIndexes, concurrentIndexNames } from '../../src/core/migrations/invalid-index';
import { HostRuntime, ToolFailedError } from '../../src/core/runtime';
import { cellText, mergeResults } from '../faults/report';
import type { CellResult } from '../faults/table';

describe('fault matrix: disk full', () => {
  it('a tool that wrote "No space left on device" and a write that failed with ENOSPC are a full disk; other failures are not', () => {
    const full = new ToolFailedError(
      ['pg_dump'],
      1,
      ['pg_dump: error: could not write to output file: No space left on device'],
      'c',
    );
    const other = new ToolFailedError(['pg_dump'], 1, ['pg_dump: error: connection to server failed'], 'c');
    assert.equal(isDiskFull(full), true);
    assert.equal(isDiskFull(Object.assign(new Error('write failed'), { code: 'ENOSPC' })), true);
    assert.equal(isDiskFull(other), false);
    assert.equal(isDiskFull(undefined), false);
  });
  it('reads the available bytes from df -P -k', () => {
    const out = [
      'Filesystem 1024-blocks Used Available Capacity Mounted on',
      'tmpfs 8192 8 8184 1% /var/lib/pgbackrest/manual_backup',
    ];
    assert.equal(dfAvailable(out), 8184 * 1024);
    assert.equal(dfAvailable(['Filesystem 1024-blocks Used Available Capacity Mounted on']), undefined);
  });
});

describe('fault matrix: a -- no-transaction migration’s concurrent indexes', () => {
  it('names the indexes created concurrently (unique, IF NOT EXISTS, quoted), folded like PostgreSQL', () => {
    assert.deepEqual(
      concurrentIndexNames(
        '-- no-transaction\nCREATE INDEX CONCURRENTLY Readings_At ON readings (at);\n' +
          'create unique index concurrently if not exists "Mixed ""Q""" on t (x);\nCREATE INDEX plain ON t (y);',
      ),
      ['readings_at', 'Mixed "Q"'],
    );
    assert.deepEqual(concurrentIndexNames('CREATE TABLE t (x int);'), []);
  });
  it('says which concurrent indexes are created IF NOT EXISTS (a valid one there refuses only the others)', () => {
    assert.deepEqual(
      concurrentIndexes(
        'CREATE INDEX CONCURRENTLY a_idx ON t (a);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b_idx ON t (b);',
      ),
      [
        { name: 'a_idx', ifNotExists: false },
        { name: 'b_idx', ifNotExists: true },
      ],
    );
  });
});

describe('fault matrix: results', () => {
  const cell = (over: Partial<CellResult>): CellResult => ({
    row: 'backup-dump',
    column: 'disk-full-backups',
    outcome: 'old state',
    rowsLost: 0,
    secondsToMessage: 1.25,
    leftovers: [],
    message: 'Disk full',
    injected: 'tmpfs',
    problems: [],
    seconds: 60,
    ranAt: '2026-12-07T00:00:00.000Z',
    ...over,
  });
  it('a rerun of a cell replaces its earlier result, other cells stay', () => {
    const old = {
      cells: [cell({ outcome: 'FAILED' }), cell({ row: 'migrate-tx', column: 'postgres-killed' })],
      machine: { cores: '2' },
    };
    const merged = mergeResults(old, [cell({})], {});
    assert.equal(merged.cells.length, 2);
    assert.equal(merged.cells.find((c) => c.row === 'backup-dump')!.outcome, 'old state');
    assert.deepEqual(merged.machine, { cores: '2' });
  });
  it('a table cell shows the outcome, rows lost, seconds to the message and leftovers; or why it has none', () => {
    assert.equal(cellText(cell({}), undefined, true), 'old state, lost 0, 1.3 s');
    assert.equal(
      cellText(
        cell({ outcome: 'FAILED', rowsLost: 3, secondsToMessage: undefined, leftovers: ['database x'] }),
        undefined,
        true,
      ),
      '**FAILED**, lost 3, no message, 1 leftover(s)',
    );
    assert.equal(
      cellText(undefined, { row: 'migrate-tx', column: 'disk-full-backups', why: 'x' }, false),
      'cannot happen¹',
    );
    assert.equal(cellText(undefined, undefined, true), 'not run yet');
    assert.equal(cellText(undefined, undefined, false), '—');
  });
});

describe('fault matrix: a pgBackRest backup into a full repository', () => {
  // Real tools on this machine (df; pgbackrest's help when installed): the repository is a temp folder.
  const rt = new HostRuntime();
  const target = { runtime: rt, stanza: 'db' };
  const dir = mkdtempSync(join(tmpdir(), 'tsdbops-repo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const writeError = (tail: string) =>
    new PgBackRestError(
      64,
      `raised from local-1 protocol: unable to write '${dir}/20261207-035246F/pg_data/base/1/2.gz'${tail}`,
      [],
      'backup',
      'this machine',
    );

  it('says Disk full, the free space and the unfinished set when the write failed for want of space', async () => {
    const e = await repoDiskFullOr(target, writeError(': [28] No space left on device'), 'pgBackRest full backup');
    assert.ok(e instanceof Error);
    assert.match(e.message, /^Disk full: the pgBackRest full backup ran out of space in the pgBackRest repository /);
    assert.match(e.message, /\d+(\.\d+)? (B|kB|MB|GB|TB) free there now/);
    assert.match(e.message, /keeps the unfinished set 20261207-035246F/);
  });

  it('leaves a write error alone when the repository has room (not a full disk), and any other error', async () => {
    const roomy = writeError(' [FileWriteError] on retry after 0ms');
    assert.equal(await repoDiskFullOr(target, roomy, 'pgBackRest full backup'), roomy);
    const lock = new PgBackRestError(50, 'unable to acquire lock', [], 'backup', 'this machine');
    assert.equal(await repoDiskFullOr(target, lock, 'pgBackRest full backup'), lock);
  });
});

describe('fault matrix: a backup whose window died', () => {
  // Real files and a real dead process: the folder is a temp one, the runtime this machine.
  const dir = mkdtempSync(join(tmpdir(), 'tsdbops-manual-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const owner = (pid: number, host = hostname()) => JSON.stringify({ host, pid, started: '2026-12-07T00:00:00Z' });
  it('the sweep removes the partial files whose writer is gone, and keeps a live writer’s and another machine’s', async function () {
    this.timeout(120_000); // it scans this machine's processes for a writer still running: slow on a loaded machine
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'a_pg_dump_1.tar.partial'), 'half');
    writeFileSync(join(dir, '.a_pg_dump_1.tar.partial.owner'), owner(dead));
    mkdirSync(join(dir, 'pg_basebackup_1.partial'));
    writeFileSync(join(dir, 'pg_basebackup_1.partial', 'base.tar.gz'), 'half');
    writeFileSync(join(dir, '.pg_basebackup_1.partial.owner'), owner(dead));
    writeFileSync(join(dir, 'b_pg_dump_2.tar.partial'), 'running');
    writeFileSync(join(dir, '.b_pg_dump_2.tar.partial.owner'), owner(process.pid));
    writeFileSync(join(dir, 'c_pg_dump_3.tar.partial'), 'elsewhere');
    writeFileSync(join(dir, '.c_pg_dump_3.tar.partial.owner'), owner(dead, 'another-machine'));
    const removed = await sweepAbandonedPartials({ runtime: new HostRuntime(), hostDir: dir });
    assert.deepEqual(removed.sort(), ['a_pg_dump_1.tar.partial', 'pg_basebackup_1.partial']);
    assert.deepEqual(readdirSync(dir).sort(), [
      '.b_pg_dump_2.tar.partial.owner',
      '.c_pg_dump_3.tar.partial.owner',
      'b_pg_dump_2.tar.partial',
      'c_pg_dump_3.tar.partial',
    ]);
  });
  it('a claim is forgotten once released', async () => {
    const release = await claimPartial(dir, 'd_pg_dump_4.tar');
    assert.ok(readdirSync(dir).includes('.d_pg_dump_4.tar.partial.owner'));
    await release();
    assert.ok(!readdirSync(dir).includes('.d_pg_dump_4.tar.partial.owner'));
  });
});
