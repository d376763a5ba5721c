/**
 * The fault matrix's CI subset (issue 29): the cells marked `ci` in test/faults (at least 12, the fast ones,
 * covering every fault column that has cells), run for real as `npm run faults` runs them, each asserting that it ended in the
 * old state, the new state, refused before starting or (a named case) partial with the way back: never
 * FAILED, no row lost, no leftover, and a message to the user. The full table: `npm run faults` → FAULTS.md.
 */
import assert from 'node:assert/strict';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { isRoot } from '../support/proc';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint } from '../support/stack';
import { CELLS, CI_EXCLUDED } from '../faults/registry';
import { runCells } from '../faults/run';
import type { CellResult } from '../faults/table';

const SUBSET = CELLS.filter((c) => c.ci);

describe('fault matrix: the CI subset (at least 12 cells, every fault column)', function () {
  this.timeout(1_800_000);
  let results: CellResult[] = [];

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    requirePart(
      this,
      isRoot,
      'root (the disk-full cells mount a size-limited tmpfs)',
      'run the integration tests as root',
    );
    results = (await runCells(SUBSET, (m) => console.log(`      [faults] ${m}`))).results;
  });

  it('covers every fault column that has a cell (but those whose every cell still finds an open bug, each with why)', () => {
    const columns = new Set(CELLS.map((c) => c.column).filter((c) => !CI_EXCLUDED.some((x) => x.column === c)));
    assert.deepEqual(new Set(SUBSET.map((c) => c.column)), columns);
    assert.ok(SUBSET.length >= 12, `at least 12 cells (issue 29), not ${SUBSET.length}`);
  });

  for (const def of SUBSET) {
    it(`${def.row} × ${def.column}: old or new state (or the named partial), nothing lost, nothing left, a message`, () => {
      const r = results.find((x) => x.row === def.row && x.column === def.column);
      assert.ok(r, 'the cell ran');
      assert.notEqual(r.outcome, 'FAILED', `problems: ${r.problems.join(' / ')}; message: ${r.message}`);
      assert.equal(r.rowsLost, 0);
      assert.deepEqual(r.leftovers, []);
      assert.ok(r.secondsToMessage !== undefined && r.message.length > 0, 'the user got a message');
    });
  }
});
