/** A pgBackRest backup during which PostgreSQL stopped says so (found by the fault matrix: pgBackRest full backup × PostgreSQL killed). */
import { strict as assert } from 'node:assert';
import { postgresStoppedOr } from '../../src/core/backups/pgbackrest-stopped';
import { PgBackRestError } from '../../src/core/errors/backups';
import type { ToolRuntime } from '../../src/core/runtime';

/** A runtime whose `pg_isready` exits `code` (or fails to run at all); it records what ran. */
const runtime = (kind: ToolRuntime['kind'], code: number | 'gone', ran: string[][] = []): ToolRuntime => ({
  kind,
  description: 'container db_1',
  async run(argv) {
    ran.push([...argv]);
    if (code === 'gone') throw new Error('container db_1 is not running');
    return { exitCode: code, stdoutLines: [], stderrTail: [] };
  },
});

const nullResult = () =>
  new PgBackRestError(101, 'NULL result required to complete request', [], 'backup', 'container db_1');

describe('fault matrix: PostgreSQL stopped during a pgBackRest backup', () => {
  it('says PostgreSQL stopped, that no backup was added and what to do, when pg_isready gets no answer', async () => {
    const ran: string[][] = [];
    const e = await postgresStoppedOr(runtime('container', 2, ran), nullResult(), 'pgBackRest full backup');
    assert.ok(e instanceof Error);
    assert.match(
      e.message,
      /^PostgreSQL stopped during the pgBackRest full backup \(it does not answer in container db_1 now\)/,
    );
    assert.match(e.message, /No backup was added/);
    assert.match(e.message, /Start PostgreSQL again .* then back up again/);
    assert.match(e.message, /pgBackRest said: \[101\] NULL result/);
    assert.deepEqual(ran, [['pg_isready', '-q']]);
    const gone = await postgresStoppedOr(runtime('container', 'gone'), nullResult(), 'pgBackRest full backup');
    assert.match((gone as Error).message, /^PostgreSQL stopped/);
  });

  it('leaves the error alone when the server answers, on this machine, and for other pgBackRest errors', async () => {
    const e = nullResult();
    assert.equal(await postgresStoppedOr(runtime('container', 0), e, 'pgBackRest full backup'), e);
    assert.equal(await postgresStoppedOr(runtime('host', 2), e, 'pgBackRest full backup'), e);
    const lock = new PgBackRestError(50, 'unable to acquire lock on file', [], 'backup', 'container db_1');
    assert.equal(await postgresStoppedOr(runtime('container', 2), lock, 'pgBackRest full backup'), lock);
  });
});
