/** The log follower (incremental reads by offset, fs.watch events) and Ofelia's saved runs as Ofelia writes them. */
import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFollower, readTail, type FollowedLine } from '../../src/core/logs/follower';
import { formatSavedRun, lastRunByJob, listSavedRuns } from '../../src/core/logs/ofelia-runs';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('log follower', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tsdbops-follow-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sees lines appended after it started, never re-reads from the start', async () => {
    const old =
      Array.from({ length: 2000 }, (_, i) => `2026-11-24 20:00:00.000 P00   INFO: old line ${i}`).join('\n') + '\n';
    writeFileSync(join(dir, 'db-backup.log'), old);
    const lines: FollowedLine[] = [];
    const f = new LogFollower(dir, (l) => lines.push(l));
    await f.start();
    try {
      assert.equal(lines.length, 0, 'existing content is not replayed');
      assert.equal(f.bytesRead, 0);
      appendFileSync(
        join(dir, 'db-backup.log'),
        '-------------------PROCESS START-------------------\n2026-11-24 21:00:00.000 P00   INFO: backup command begin 2.45\n',
      );
      await waitFor(() => lines.length >= 2);
      assert.deepEqual(
        lines.map((l) => l.line),
        [
          '-------------------PROCESS START-------------------',
          '2026-11-24 21:00:00.000 P00   INFO: backup command begin 2.45',
        ],
      );
      assert.equal(lines[0]!.file, 'db-backup.log');
      // A partial line waits for its end.
      appendFileSync(join(dir, 'db-backup.log'), 'half ');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lines.length, 2);
      appendFileSync(join(dir, 'db-backup.log'), 'done\n');
      await waitFor(() => lines.length === 3);
      assert.equal(lines[2]!.line, 'half done');
      // A new file is followed from its first byte.
      writeFileSync(join(dir, 'db-archive-push.log'), 'pushed 1\n');
      await waitFor(() => lines.some((l) => l.file === 'db-archive-push.log'));
      // Not a .log: ignored.
      writeFileSync(join(dir, 'notes.txt'), 'x\n');
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(!lines.some((l) => l.file === 'notes.txt'));
      const appended = Buffer.byteLength(
        '-------------------PROCESS START-------------------\n2026-11-24 21:00:00.000 P00   INFO: backup command begin 2.45\nhalf done\npushed 1\n',
      );
      assert.equal(f.bytesRead, appended, 'only the new bytes were read');
      assert.ok(!lines.some((l) => /old line/.test(l.line)));
    } finally {
      f.dispose();
    }
  });

  it('shows a bounded tail at start when asked, from a full line', async () => {
    writeFileSync(join(dir, 'db-backup.log'), Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const lines: string[] = [];
    const f = new LogFollower(dir, (l) => lines.push(l.line), { initialTailBytes: 100 });
    await f.start();
    f.dispose();
    assert.ok(f.bytesRead <= 100);
    assert.equal(lines.at(-1), 'line 999');
    assert.ok(
      lines.every((l) => /^line \d+$/.test(l)),
      lines.join('|'),
    );
    const t = await readTail(join(dir, 'db-backup.log'), 50);
    assert.equal(t.truncated, true);
    assert.equal(t.lines.at(-1), 'line 999');
  });

  it('decodes a character split between two reads', async () => {
    writeFileSync(join(dir, 'u.log'), '');
    const lines: string[] = [];
    const f = new LogFollower(dir, (l) => lines.push(l.line), { chunkBytes: 3 });
    await f.start();
    try {
      const e = Buffer.from('é');
      appendFileSync(join(dir, 'u.log'), Buffer.concat([Buffer.from('h'), e.subarray(0, 1)]));
      await f.readNew('u.log');
      appendFileSync(join(dir, 'u.log'), Buffer.concat([e.subarray(1), Buffer.from('llo wörld\n')]));
      await f.readNew('u.log');
      await waitFor(() => lines.length > 0);
      assert.deepEqual(lines, ['héllo wörld']);
    } finally {
      f.dispose();
    }
  });

  it('starts over when a file is truncated (new content)', async () => {
    writeFileSync(join(dir, 'a.log'), 'one\ntwo\n');
    const lines: string[] = [];
    const f = new LogFollower(dir, (l) => lines.push(l.line));
    await f.start();
    try {
      writeFileSync(join(dir, 'a.log'), 'x\n');
      await waitFor(() => lines.includes('x'));
    } finally {
      f.dispose();
    }
  });
});

describe('Ofelia saved runs', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-ofelia-'));
    // As middlewares/save.go writes them: <YYYYMMDD_HHMMSS>_<job>.{stderr.log,stdout.log,json}.
    const save = (stamp: string, job: string, exec: Record<string, unknown>, stdout: string, stderr = '') => {
      writeFileSync(join(dir, `${stamp}_${job}.stderr.log`), stderr);
      writeFileSync(join(dir, `${stamp}_${job}.stdout.log`), stdout);
      writeFileSync(
        join(dir, `${stamp}_${job}.json`),
        JSON.stringify(
          {
            Job: {
              Name: job,
              Schedule: '0 */15 * * * *',
              Command: 'pgbackrest --stanza=db --type=diff --log-level-stderr=info backup',
              Container: 'infra-timescaledb-1',
              User: 'postgres',
              TTY: false,
              Environment: null,
              NoOverlap: true,
            },
            Execution: {
              ID: exec.ID,
              Date: exec.Date,
              Duration: exec.Duration,
              IsRunning: false,
              Failed: exec.Failed,
              Skipped: false,
              Error: {},
            },
          },
          null,
          '  ',
        ),
      );
    };
    save(
      '20261124_201500',
      'pgbackrest-diff-backup',
      { ID: 'a1', Date: '2026-11-24T20:15:00.001Z', Duration: 12_500_000_000, Failed: false },
      'INFO: backup command begin 2.45\nINFO: new backup label = 20261124-000001F_20261124-201500D\n',
    );
    save(
      '20261124_203000',
      'pgbackrest-diff-backup',
      { ID: 'a2', Date: '2026-11-24T20:30:00.002Z', Duration: 300_000_000, Failed: true },
      '',
      "ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/db-backup.lock': Resource temporarily unavailable\n" +
        'HINT: is another pgBackRest process running?\n',
    );
    save(
      '20261124_000000',
      'pgbackrest-full-backup',
      { ID: 'b1', Date: '2026-11-24T00:00:00Z', Duration: 61_000_000_000, Failed: false },
      'INFO: new backup label = 20261124-000001F\n',
    );
    writeFileSync(join(dir, '20261124_204500_broken.json'), '{not json');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists runs newest first with job, time, failed, duration and the pgBackRest error', async () => {
    const { runs, problems } = await listSavedRuns(dir);
    assert.deepEqual(
      runs.map((r) => [r.job, r.date.toISOString(), r.failed]),
      [
        ['pgbackrest-diff-backup', '2026-11-24T20:30:00.002Z', true],
        ['pgbackrest-diff-backup', '2026-11-24T20:15:00.001Z', false],
        ['pgbackrest-full-backup', '2026-11-24T00:00:00.000Z', false],
      ],
    );
    assert.equal(runs[0]!.errorLine?.startsWith('ERROR: [050]'), true);
    assert.equal(runs[1]!.durationMs, 12_500);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /20261124_204500_broken\.json/);
    const last = lastRunByJob(runs);
    assert.equal(last.get('pgbackrest-diff-backup')?.id, 'a2');
    const text = await formatSavedRun(runs[0]!);
    assert.match(text[0]!, /job pgbackrest-diff-backup: FAILED in 0\.3s/);
    assert.ok(text.some((l) => /stderr/.test(l)));
    assert.ok(text.some((l) => /ERROR: \[050\]/.test(l)));
  });
});
