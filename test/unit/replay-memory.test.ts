/**
 * Memory for a drill's scratch replay: raised from the machine, never below the restored config's own value.
 * The probe's shell runs for real under /bin/sh against this machine's /proc/meminfo.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { decideReplayMemory, parsePgMemory, REPLAY_MEMORY_PROBE } from '../../src/core/backups/restore/replay-memory';

const GiB = 1024 ** 3;

describe('replay memory of a drill’s scratch server', () => {
  it('reads PostgreSQL’s memory values (postgres -C prints 8 kB pages; units as in postgresql.conf)', () => {
    assert.equal(parsePgMemory('16384'), 128 * 1024 ** 2);
    assert.equal(parsePgMemory('1GB'), GiB);
    assert.equal(parsePgMemory('512MB'), 512 * 1024 ** 2);
    assert.equal(parsePgMemory('64kB'), 64 * 1024);
    assert.equal(parsePgMemory(''), undefined);
    assert.equal(parsePgMemory('lots'), undefined);
  });

  it('raises shared_buffers to an eighth of the available memory, at most 2 GB, and says why', () => {
    const big = decideReplayMemory(['shared_buffers 16384', 'available 21618616', 'limit max']);
    assert.equal(big.sharedBuffers, '2048MB');
    assert.match(big.said, /shared_buffers 2048 MB for the scratch server's replay \(the restored config says 128 MB/);
    const small = decideReplayMemory(['shared_buffers 16384', 'available 4194304', 'limit ']);
    assert.equal(small.sharedBuffers, '512MB');
  });

  it('the container’s cgroup limit counts when it is below the available memory', () => {
    const r = decideReplayMemory(['shared_buffers 16384', 'available 21618616', `limit ${4 * GiB}`]);
    assert.equal(r.sharedBuffers, '512MB');
  });

  it('keeps the restored config’s value when it is larger, when the machine is small, or when nothing could be read', () => {
    const theirs = decideReplayMemory(['shared_buffers 524288', 'available 21618616', 'limit max']);
    assert.equal(theirs.sharedBuffers, undefined);
    assert.match(theirs.said, /shared_buffers 4096 MB kept \(the restored config’s/);
    assert.equal(
      decideReplayMemory(['shared_buffers 16384', 'available 1048576', 'limit max']).sharedBuffers,
      undefined,
    );
    const unknown = decideReplayMemory(['shared_buffers ', 'available ', 'limit ']);
    assert.equal(unknown.sharedBuffers, undefined);
    assert.match(unknown.said, /could not be read/);
  });

  it('the probe reads this machine’s memory (the config line is empty where no postgres can read the folder)', () => {
    const r = spawnSync('sh', ['-c', REPLAY_MEMORY_PROBE, 'probe', '/nonexistent'], { encoding: 'utf8' });
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /^available \d+$/);
    assert.equal(decideReplayMemory(lines).sharedBuffers, undefined);
  });
});
