import * as assert from 'node:assert/strict';
import { restoreDiskFullOr } from '../../src/core/backups/restore/physical/disk-full';
import { ToolFailedError, type ToolRuntime } from '../../src/core/runtime';
import type { PhysicalTarget } from '../../src/core/backups/restore/physical';

/** A runtime whose only command is `df`, answering with `availKb` free (what the data volume says). */
function target(availKb: number): PhysicalTarget {
  const rt = {
    kind: 'container',
    description: 'container db_1',
    run: async (argv: readonly string[]) => {
      assert.deepEqual(argv.slice(0, 4), ['df', '-P', '-k', '--']);
      assert.equal(argv[4], '/home/postgres/pgdata');
      return {
        exitCode: 0,
        stdoutLines: [
          'Filesystem 1024-blocks Used Available Capacity Mounted on',
          `tmpfs 327680 325632 ${availKb} 99% /x`,
        ],
        stderrTail: [],
      };
    },
  } as unknown as ToolRuntime;
  return { rt, dataDir: '/home/postgres/pgdata/data/', conn: { user: 'postgres' } } as PhysicalTarget;
}

const failed = new ToolFailedError(['pgbackrest', '--stanza=db', 'restore'], 64, [], 'container db_1');

describe('restore: disk full on the data volume', () => {
  it('says "Disk full", the folder, the free space when it failed and the size needed, with pgBackRest\'s line', async () => {
    const out = [
      'P00   INFO: restore command begin',
      "P01  ERROR: [039]: unable to write '/home/postgres/pgdata/data/base/1/1259': [28] No space left on device",
    ];
    const e = (await restoreDiskFullOr(failed, target(2048), out, 300 * 2 ** 20)) as Error;
    assert.match(
      e.message,
      /^Disk full: pgbackrest ran out of space in \/home\/postgres\/pgdata \(container db_1\); 2\.0 MB free there when it failed/,
    );
    assert.match(e.message, /, the restore needs about 300 MB/);
    assert.match(e.message, /No space left on device/);
  });

  it('a failure with plenty of space and no disk-full line is passed on unchanged', async () => {
    const e = await restoreDiskFullOr(failed, target(500 * 1024), ['P00  ERROR: [055]: unable to load info file'], 1);
    assert.equal(e, failed);
  });

  it('an almost empty volume is a full disk even when the tool did not say why', async () => {
    const e = (await restoreDiskFullOr(failed, target(100), [], undefined)) as Error;
    assert.match(e.message, /^Disk full: .*100 KB free there when it failed \(exit code 64\)$/);
  });
});
