/** The pure parts of a restore's recovery set-up (src/core/backups/restore/physical/recovery.ts). */
import { strict as assert } from 'node:assert';
import { speedEnvOf, withRecoveryOptions, type RecoveryRun } from '../../src/core/backups/restore/physical/recovery';
import type { RecoverySpeed } from '../../src/core/backups/restore/recovery-speed';

const run = (speed: Partial<RecoverySpeed>): RecoveryRun =>
  ({
    place: {} as RecoveryRun['place'],
    speed: { restoreArgs: [], recoveryArgs: [], explanation: [], ...speed } as unknown as RecoverySpeed,
    baseArgs: ['--stanza=db'],
    finished: false,
  }) as RecoveryRun;

describe('physical restore: recovery options of this restore', () => {
  it("puts this restore's options before the command word, and nothing without a set-up", () => {
    const argv = ['pgbackrest', '--stanza=db', '--set=20261207-000000F', 'restore'];
    assert.deepEqual(withRecoveryOptions(argv, undefined), argv);
    assert.deepEqual(
      withRecoveryOptions(
        argv,
        run({ restoreArgs: ['--process-max=2'], recoveryArgs: ['--recovery-option=restore_command=x'] }),
      ),
      [
        'pgbackrest',
        '--stanza=db',
        '--set=20261207-000000F',
        '--process-max=2',
        '--recovery-option=restore_command=x',
        'restore',
      ],
    );
  });

  it("reads only the speed variables of a container's environment (never a secret)", () => {
    assert.deepEqual(
      speedEnvOf([
        'PGBACKREST_ARCHIVE_ASYNC=y',
        'PGBACKREST_PROCESS_MAX=3',
        'PGBACKREST_REPO1_CIPHER_PASS=secret',
        'PGBACKREST_CONFIG=/x.conf',
        'PATH=/bin',
      ]),
      { PGBACKREST_ARCHIVE_ASYNC: 'y', PGBACKREST_PROCESS_MAX: '3' },
    );
    assert.deepEqual(speedEnvOf(undefined), {});
  });
});
