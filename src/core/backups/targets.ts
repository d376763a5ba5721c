/**
 * From a stack (compose + .env) and a ToolRuntime to the targets the backup tools need: the
 * pgBackRest stanza and config, the manual backups folder as this machine and the runtime see it,
 * the credentials (environment only) and the data folder (for pre-restore copies).
 */
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { StackConfig } from '../infra';
import type { ToolRuntime } from '../runtime';
import type { DumpTo, ManualBackupTarget } from './dump';
import { confOption, resolveStanza, type PgBackRestTarget } from './pgbackrest';

/** Where the guide's stack mounts the backups folder in the database container. */
export const CONTAINER_BACKUPS_DIR = '/var/lib/pgbackrest';
export const MANUAL_BACKUP_DIR = 'manual_backup';
export const DEFAULT_PGDATA = '/home/postgres/pgdata/data';

export interface BackupSettings {
  /** `tsdbOps.backups.stanza`. */
  stanza?: string;
  /** `tsdbOps.backups.pgbackrestConfig`: `--config` for pgBackRest (default: the image's / system default). */
  pgbackrestConfig?: string;
  /** Host runtime: `-h`/`-p` for the PostgreSQL tools (default localhost and POSTGRES_PORT). */
  host?: string;
  port?: number;
  /** `tsdbOps.backups.dumpTo`: where pg_dump/pg_dumpall write (default auto). */
  dumpTo?: DumpTo;
}

/** The infra's pgbackrest.conf on this machine: the file mounted into the database service, else `<infra>/pgbackrest.conf`. */
export function pgbackrestConfOnHost(stack: StackConfig): string {
  const mounted = stack.dbService?.volumes.find(
    (v) => v.type === 'bind' && v.source && /pgbackrest\.conf$/.test(v.target),
  );
  return mounted?.source ?? join(stack.infraDir, 'pgbackrest.conf');
}

export async function readPgbackrestConf(stack: StackConfig): Promise<string | undefined> {
  return readFile(pgbackrestConfOnHost(stack), 'utf8').catch(() => undefined);
}

export interface StackBackupTargets {
  pgbackrest: PgBackRestTarget;
  manual: ManualBackupTarget;
  /** PGDATA where the tools run (pg1-path of the stanza, else the image's default). */
  dataDir: string;
  /** The infra's pgbackrest.conf text, when found. */
  conf?: string;
}

export async function stackBackupTargets(
  stack: StackConfig,
  runtime: ToolRuntime,
  settings: BackupSettings = {},
): Promise<StackBackupTargets> {
  const conf = await readPgbackrestConf(stack);
  const stanza = resolveStanza(settings.stanza, conf);
  const user = stack.env.user ?? 'postgres';
  const env: Record<string, string> = {};
  if (stack.env.password) env['PGPASSWORD'] = stack.env.password;
  const hostDir = join(stack.backupsDir, MANUAL_BACKUP_DIR);
  const container = runtime.kind === 'container';
  const runtimeDir = container ? posix.join(containerBackupsDir(stack), MANUAL_BACKUP_DIR) : hostDir;
  const connArgs = container
    ? []
    : ['-h', settings.host ?? 'localhost', '-p', String(settings.port ?? stack.env.port ?? 5432)];
  return {
    pgbackrest: { runtime, stanza, configPath: settings.pgbackrestConfig || undefined },
    manual: {
      runtime,
      hostDir,
      runtimeDir,
      user,
      connArgs,
      env,
      maintenanceDb: stack.env.database ?? user,
      dumpTo: settings.dumpTo,
    },
    dataDir: (conf && confOption(conf, stanza, 'pg1-path')) || DEFAULT_PGDATA,
    conf,
  };
}

/** Where the database service mounts the host's backups folder (the guide: /var/lib/pgbackrest). */
export function containerBackupsDir(stack: StackConfig): string {
  const v = stack.dbService?.volumes.find((m) => m.type === 'bind' && m.source === stack.backupsDir);
  return v?.target ?? CONTAINER_BACKUPS_DIR;
}
