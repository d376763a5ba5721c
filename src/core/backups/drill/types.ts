/** The public shapes of a restore drill: what is drilled, where, and the report. */
import type Dockerode from 'dockerode';
import type { ServerConnection } from '../restore/run';
import { DrillRefusedError } from '../../errors/backups';

export { DrillRefusedError };

export type DrillSource =
  | {
      readonly kind: 'pgbackrest';
      /** Backup set label (default: the newest). */
      readonly set?: string;
      /** 'latest' (default): the set plus every archived WAL; 'set': exactly the set. */
      readonly target?: 'latest' | 'set';
      /** The pgBackRest repository (`--repo=N`); default: the set's. Object stores: a network of the drill's own. */
      readonly repo?: number;
    }
  | {
      readonly kind: 'baseBackup';
      /** A `pg_basebackup -F t` folder as the live database container sees it (inside a mounted folder). */
      readonly dir: string;
    }
  | {
      /** A pg_dump file (custom or tar format) or a pg_dumpall .sql script, as the live container sees it. */
      readonly kind: 'dump' | 'dumpAll';
      readonly file: string;
      /** pg_dump: the database to restore into (default: from the file name `<db>_pg_dump_…`, else POSTGRES_DB). */
      readonly database?: string;
    };

export interface DrillTarget {
  readonly docker: Dockerode;
  /** The live database service container (read only: inspected, queried, never changed). */
  readonly containerId: string;
  /** Compose project: one drill per project at a time. */
  readonly project: string;
  readonly stanza: string;
  /** pgBackRest config path in the live container: the file in effect (core/stack/context). */
  readonly configPath?: string;
  /** Its text, read once by the stack context (drillTargetOf); when absent the drill reads configPath. */
  readonly conf?: string;
  /** The OS user the tools run as (the stack context's answer); default the container's Config.User, else postgres. */
  readonly toolUser?: string;
  /** PGDATA (pg1-path) as the live container sees it; the scratch copy uses the same path. */
  readonly dataDir: string;
  /** The live server's credentials (user, password, database = POSTGRES_DB). */
  readonly conn: ServerConnection;
  /** User checks: SQL texts (each query must return at least one row and no false). */
  readonly checks?: readonly { readonly name: string; readonly sql: string }[];
  /** Free space to keep on the engine beyond the restored data (default 64 MiB). */
  readonly reserveBytes?: number;
  readonly startTimeoutSec?: number;
}

export type DrillCheckStatus = 'passed' | 'failed' | 'skipped';
export interface DrillCheck {
  readonly name: string;
  readonly status: DrillCheckStatus;
  readonly message: string;
}

export interface DrillPhase {
  readonly name: 'prepare' | 'restore' | 'replay and start' | 'checks';
  readonly ms: number;
}

export interface DrillReport {
  readonly version: 1;
  readonly project: string;
  /** What was drilled, e.g. "pgbackrest 20261124-000001F (latest)" or "pg_basebackup pg_basebackup_20261124_201530". */
  readonly source: string;
  /** Stable key of the source for "last result per source": "pgbackrest:<stanza>" or "baseBackup:<dir>". */
  readonly sourceKey: string;
  readonly set?: string;
  readonly target?: string;
  readonly started: string;
  readonly finished: string;
  readonly passed: boolean;
  /** Why the drill stopped early (restore or start failed, cancelled); checks keep their own messages. */
  readonly error?: string;
  readonly checks: readonly DrillCheck[];
  readonly phases: readonly DrillPhase[];
  /** Restore + replay/start + checks. */
  readonly rtoMs: number;
  /** Last replayed commit of the restored copy, else the backup's stop time. */
  readonly recoveryPoint?: string;
  readonly recoveryPointFrom?: 'last replayed commit' | 'backup stop time';
  readonly image: string;
  readonly owner: { readonly host: string; readonly pid: number };
  /** The scratch container's network: "none", or what the drill's own network reaches (object-store repositories). */
  readonly network?: string;
}
