/**
 * From a stack (compose + .env) and a ToolRuntime to the targets the backup tools need: the
 * pgBackRest stanza and config, the manual backups folder as this machine and the runtime see it,
 * the credentials (environment only) and the data folder (for pre-restore copies). Where things are
 * comes from the site resolver (core/stack/site).
 */
import type { StackConfig } from '../infra';
import type { ToolRuntime } from '../runtime';
import { stackCredentials } from '../postgres/connection';
import { readSite, type Site, type SiteSettings } from '../stack/site';
import type { DumpTo, ManualBackupTarget } from './dump';
import type { PgBackRestTarget } from './pgbackrest';

export interface BackupSettings extends SiteSettings {
  /** Host runtime: `-h`/`-p` for the PostgreSQL tools (default localhost and POSTGRES_PORT). */
  host?: string;
  port?: number;
  /** `tsdbOps.backups.dumpTo`: where pg_dump/pg_dumpall write (default auto). */
  dumpTo?: DumpTo;
}

export interface StackBackupTargets {
  pgbackrest: PgBackRestTarget;
  manual: ManualBackupTarget;
  /** PGDATA where the tools run (see core/stack/site). */
  dataDir: string;
  /** The pgBackRest config text in effect, when read. */
  conf?: string;
  /** Where everything is, with the sources it was resolved from. */
  site: Site;
}

export async function stackBackupTargets(
  stack: StackConfig,
  runtime: ToolRuntime,
  settings: BackupSettings = {},
): Promise<StackBackupTargets> {
  const site = await readSite(stack, { settings, runtime });
  return targetsOf(stack, runtime, site, settings);
}

export function targetsOf(
  stack: StackConfig,
  runtime: ToolRuntime,
  site: Site,
  settings: BackupSettings = {},
): StackBackupTargets {
  // Who connects and to which database: the one rule of core/postgres (stackCredentials).
  const cred = stackCredentials(stack);
  const user = cred.user.value;
  const env: Record<string, string> = {};
  if (cred.password.value) env['PGPASSWORD'] = cred.password.value;
  const connArgs =
    runtime.kind === 'container'
      ? []
      : ['-h', settings.host ?? 'localhost', '-p', String(settings.port ?? stack.env.port ?? 5432)];
  return {
    pgbackrest: { runtime, stanza: site.stanza, configPath: site.configOption },
    manual: {
      runtime,
      hostDir: site.manualHostDir,
      runtimeDir: site.manualRuntimeDir,
      user,
      connArgs,
      env,
      maintenanceDb: cred.database.value,
      dumpTo: settings.dumpTo,
    },
    dataDir: site.dataDir,
    conf: site.conf,
    site,
  };
}
