/** A drill report as the core writes it, for unit tests of what reads reports (one fixture, `over` changes it). */
import type { DrillReport } from '../../src/core/backups/drill';

export const drillReport = (over: Partial<DrillReport> = {}): DrillReport => ({
  version: 1,
  project: 'p',
  source: 'pgbackrest 20261124-000001F (latest state)',
  sourceKey: 'pgbackrest:db',
  started: '2026-11-24T10:00:00.000Z',
  finished: '2026-11-24T10:01:00.000Z',
  passed: true,
  checks: [],
  phases: [{ name: 'restore', ms: 4000 }],
  rtoMs: 4000,
  image: 'sha256:x',
  owner: { host: 'h', pid: 1 },
  ...over,
});
