/** What a physical restore takes and returns, and the journal that makes it recoverable. */
import type { ToolRuntime } from '../../../runtime';
import { type RestoreTargetKind } from '../target';
import { type ServerConnection } from '../run';

export interface PhysicalTarget {
  /** Where pg_ctl, mv, tar and pgbackrest run: a runtime that sees PGDATA. */
  readonly rt: ToolRuntime;
  /** PGDATA as the runtime sees it (the fixture and timescaledb-ha: /home/postgres/pgdata/data). */
  readonly dataDir: string;
  /** psql's way to the server from the runtime, to verify it. */
  readonly conn: ServerConnection;
  /**
   * Leave PostgreSQL running at the end (default true). False in a one-off restore container:
   * the restored server is verified there, stopped, and the service container starts it.
   */
  readonly leaveRunning?: boolean;
  /** How long to wait for PostgreSQL to start and finish recovery (default 600 s). */
  readonly startTimeoutSec?: number;
  /** Free space to keep on PGDATA's file system beyond the restored data (default 64 MiB). */
  readonly reserveBytes?: number;
  /**
   * The pgBackRest config text in effect (the stack context's site.conf): the user's own recovery settings in it
   * win. Absent: read where the tools run.
   */
  readonly conf?: string;
}

export type PhysicalSource =
  | {
      readonly kind: 'pgbackrest';
      readonly stanza: string;
      readonly configPath?: string;
      /** A backup set label (default: the newest). */
      readonly set?: string;
      /** Point in time (`--type=time --target=… --target-action=promote`). */
      readonly time?: Date;
      /** Transaction id target (`--type=xid`). */
      readonly xid?: string;
      /** `--target-exclusive` for a time or xid target. */
      readonly exclusive?: boolean;
      /**
       * What to restore (see restore-target.ts). Default: time → 'time', xid → 'xid', set → 'set'
       * (exactly that set, `--type=immediate`), neither → 'latest' (newest set + every archived WAL).
       */
      readonly target?: RestoreTargetKind;
      /** Alias: with `set`, that set plus every archived WAL after it (target 'latest'). */
      readonly replayWal?: boolean;
      /** The repository to restore from (`--repo=N`); default: the chosen set's. */
      readonly repo?: number;
    }
  | {
      readonly kind: 'baseBackup';
      /** A `pg_basebackup -F t` folder (base.tar[.gz], pg_wal.tar[.gz]) as the runtime sees it. */
      readonly dir: string;
    };

export interface PhysicalRestoreResult {
  readonly kind: PhysicalSource['kind'];
  /** The old data folder, kept (delete it with tsdbOps.restore.deletePreRestoreCopy). */
  readonly preRestoreCopy?: string;
  /** pgBackRest: the set restored from; base backup: the folder. */
  readonly from: string;
  /** pgBackRest's --target for a point-in-time restore. */
  readonly target?: string;
  /** Set when an interrupted earlier restore was rolled back first. */
  readonly recoveredEarlier?: string;
  readonly databases: string[];
  readonly durationMs: number;
}

/** What the journal beside PGDATA says about a restore in flight. */
export interface RestoreJournal {
  readonly version: 1;
  readonly dataDir: string;
  readonly aside: string;
  /**
   * The folder the restore tool writes into, beside PGDATA; moved into place (PGDATA aside first) only once the tool
   * completed. Absent in journals of the releases that restored into PGDATA itself.
   */
  readonly staging?: string;
  readonly wasRunning: boolean;
  readonly leaveRunning: boolean;
  readonly started: string;
  readonly source: string;
  /**
   * The process that runs the restore (the extension host or the command line) and its machine: while it is alive,
   * the journal is not an interrupted restore but one in progress in another window, and nothing may roll it back.
   */
  readonly owner?: { readonly host: string; readonly pid: number };
  /** Process id file of the restore tool (pgbackrest / tar), to end it on recovery. */
  readonly pidFile: string;
  /**
   * pgBackRest: `pgbackrest start` for the stanza, stopped during the restore so no scheduled backup
   * races it; run as soon as the restore tool returned, at the start of a rollback, or on recovery.
   */
  readonly stanzaStart?: string[];
  /**
   * Set once the restore tool exited 0 (the new data folder is complete on disk): from then on Finish (start it,
   * wait until it left recovery, the recovery proof) may complete the restore instead of rolling it back.
   */
  readonly restored?: string;
  /** The archive's newest WAL segment a latest-state restore must replay into (the proof Finish runs again). */
  readonly newestWal?: string;
  /** pgBackRest's own restore_command, to put back once the wrapper this restore used is removed. */
  readonly restoreCommand?: string;
  /**
   * pg_basebackup onto a new timeline (new-timeline.ts): the recovery settings it wrote into postgresql.auto.conf go
   * once the server is up, by the restore or, after an interruption, by Finish; this is the restore_command to set again.
   */
  readonly newTimeline?: { readonly previousRestoreCommand: string };
}
