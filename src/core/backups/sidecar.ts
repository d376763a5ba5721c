/**
 * The metadata sidecar of a manual backup: `<backup>.meta.json` next to the file or folder. It
 * records what a restore needs to know (PostgreSQL and TimescaleDB versions: pg_dump cannot pin the
 * extension version, so the target must run the same one) and the command that made the backup.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { OpsError } from '../errors/error';

export const SIDECAR_SUFFIX = '.meta.json';

export type ManualBackupKindId = 'dump' | 'dumpAll' | 'baseBackup';

export interface BackupSidecar {
  kind: ManualBackupKindId;
  /** `server_version` of the source, e.g. `15.4 (Ubuntu 15.4-1.pgdg22.04+1)`. */
  pgVersion: string;
  /** `extversion` of timescaledb in the dumped database (pg_dump) or in POSTGRES_DB (others), if installed. */
  timescaledbVersion?: string;
  /** The dumped database (pg_dump only). */
  database?: string;
  /** pg_dump's format. */
  format?: 'tar' | 'custom';
  /** ISO 8601. */
  created: string;
  sizeBytes: number;
  /** The argv that made the backup (never holds a secret). */
  command: string[];
  /** Where it ran: "container …" or "this machine". */
  ranIn?: string;
}

const sidecarSchema = z.object({
  kind: z.enum(['dump', 'dumpAll', 'baseBackup']),
  pgVersion: z.string(),
  timescaledbVersion: z.string().optional(),
  database: z.string().optional(),
  format: z.enum(['tar', 'custom']).optional(),
  created: z.string(),
  sizeBytes: z.number(),
  command: z.array(z.string()),
  ranIn: z.string().optional(),
});

export function sidecarPath(backupPath: string): string {
  return `${backupPath.replace(/\/+$/, '')}${SIDECAR_SUFFIX}`;
}

/** The sidecar of a backup, or undefined when there is none; throws on a malformed one (naming the file). */
export async function readSidecar(backupPath: string): Promise<BackupSidecar | undefined> {
  const path = sidecarPath(backupPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new OpsError('backup-invalid', `${path} is not JSON (${(e as Error).message}); delete it or fix it.`);
  }
  const r = sidecarSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new OpsError('backup-invalid', `${path}: field "${i?.path.join('.') ?? '?'}" ${i?.message ?? 'is invalid'}.`);
  }
  return r.data;
}

/** Writes the sidecar atomically (temp file, rename). */
export async function writeSidecar(backupPath: string, meta: BackupSidecar): Promise<string> {
  const path = sidecarPath(backupPath);
  const tmp = `${path}.partial`;
  try {
    await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return path;
}
