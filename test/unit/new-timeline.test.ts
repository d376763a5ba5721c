/** A pg_basebackup restore's restore_command (src/core/backups/restore/physical/new-timeline.ts). */
import { strict as assert } from 'node:assert';
import { archiveGetOf } from '../../src/core/backups/restore/physical/new-timeline';

describe('pg_basebackup restore onto a new timeline: the archive’s restore_command', () => {
  it('turns a pgBackRest archive_command into its archive-get, keeping the stanza and the options', () => {
    assert.equal(archiveGetOf('pgbackrest --stanza=db archive-push %p'), 'pgbackrest --stanza=db archive-get %f "%p"');
    assert.equal(
      archiveGetOf('/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=main archive-push "%p"'),
      '/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=main archive-get %f "%p"',
    );
  });
  it('leaves a server that does not archive to pgBackRest alone', () => {
    assert.equal(archiveGetOf(''), undefined);
    assert.equal(archiveGetOf('(disabled)'), undefined);
    assert.equal(archiveGetOf('cp %p /mnt/archive/%f'), undefined);
  });
});
