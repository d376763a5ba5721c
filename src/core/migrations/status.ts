/** The status of every migration: local files against the `_sqlx_migrations` rows. */
import { explainChecksumDifference, hex } from './checksum';
import type { LocalMigration } from './source';

export interface AppliedMigration {
  readonly version: bigint;
  readonly description: string;
  readonly installedOn: Date;
  readonly success: boolean;
  readonly checksum: Buffer;
  /** Nanoseconds; -1 when the process stopped between the commit and the time update. */
  readonly executionTimeNs: bigint;
}

export type MigrationState = 'applied' | 'pending' | 'outOfOrder' | 'modified' | 'failed' | 'missing';

export interface MigrationStatus {
  readonly version: bigint;
  readonly description: string;
  readonly state: MigrationState;
  /** The up or simple file. */
  readonly file?: LocalMigration;
  /** The `.down.sql` file, when there is one. */
  readonly down?: LocalMigration;
  readonly applied?: AppliedMigration;
  /** For `modified`: why the checksums may differ. */
  readonly hint?: string;
  /** Human-readable detail (checksums, order). */
  readonly detail?: string;
}

export interface StatusSummary {
  readonly total: number;
  readonly applied: number;
  readonly pending: number;
  readonly outOfOrder: number;
  readonly modified: number;
  readonly failed: number;
  readonly missing: number;
}

export function computeStatus(
  local: readonly LocalMigration[],
  applied: readonly AppliedMigration[],
): MigrationStatus[] {
  const ups = new Map<bigint, LocalMigration>();
  const downs = new Map<bigint, LocalMigration>();
  for (const m of local) (m.type === 'down' ? downs : ups).set(m.version, m);
  const rows = new Map(applied.map((a) => [a.version, a]));
  const newestApplied = applied
    .filter((a) => a.success)
    .reduce<bigint | undefined>((max, a) => (max === undefined || a.version > max ? a.version : max), undefined);

  const versions = [...new Set([...ups.keys(), ...rows.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return versions.map((version): MigrationStatus => {
    const file = ups.get(version);
    const row = rows.get(version);
    const down = downs.get(version);
    const description = file?.description ?? row?.description ?? '';
    if (row && !row.success) {
      return {
        version,
        description,
        state: 'failed',
        file,
        down,
        applied: row,
        detail: 'success = false in _sqlx_migrations: sqlx refuses to run until the row is fixed and removed.',
      };
    }
    if (row && !file) {
      return {
        version,
        description,
        state: 'missing',
        down,
        applied: row,
        detail: 'Applied, but no local file has this version.',
      };
    }
    if (row && file) {
      if (!file.checksum.equals(row.checksum)) {
        return {
          version,
          description,
          state: 'modified',
          file,
          down,
          applied: row,
          hint: explainChecksumDifference(file.bytes, row.checksum),
          detail: `applied migration had checksum ${hex(row.checksum)}\nlocal migration has checksum ${hex(file.checksum)}`,
        };
      }
      return { version, description, state: 'applied', file, down, applied: row };
    }
    const outOfOrder = newestApplied !== undefined && version < newestApplied;
    return {
      version,
      description,
      state: outOfOrder ? 'outOfOrder' : 'pending',
      file,
      down,
      detail: outOfOrder
        ? `Older than the newest applied migration ${newestApplied}: sqlx still applies it, after the newer ones.`
        : undefined,
    };
  });
}

export function summarize(list: readonly MigrationStatus[]): StatusSummary {
  const count = (s: MigrationState) => list.filter((m) => m.state === s).length;
  return {
    total: list.length,
    applied: count('applied'),
    pending: count('pending') + count('outOfOrder'),
    outOfOrder: count('outOfOrder'),
    modified: count('modified'),
    failed: count('failed'),
    missing: count('missing'),
  };
}
