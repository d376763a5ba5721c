/**
 * The types of the stack context (core/stack/context re-exports them with resolveStack).
 *
 * One stack, one answer: `resolveStack()` returns everything an operation needs to know about a stack,
 * each value with the source it came from (see docs/architecture.md, "The stack context", for the
 * precedence table). The settings are a plain object (core/stack/settings), so a command-line program
 * calls it without VS Code.
 *
 * What the compose file, the `.env` file and the settings say is answered at once (the trees show it
 * before the engine answers); what needs the engine (the database container, where the tools run, the
 * pgBackRest config in effect, PGDATA, the stanza) is resolved on first use and kept until `refresh()`.
 */
import type Dockerode from 'dockerode';
import type { ComposeService, StackConfig } from '../infra';
import type { Engine, EngineRegistry } from '../docker/engines';
import type { ToolRuntime } from '../runtime';
import type { ConnectionTarget } from '../postgres/connection';
import type { RepositoryConfig } from './pgbackrest-conf';
import type { RuntimeKind, Sourced, StackSettings } from './settings';
import type { Site } from './site';
import type { OpsError } from '../errors/error';

/** What resolveStack needs besides the stack and its settings. */
export interface StackDeps {
  /** The engines (one client per distinct engine settings); without it, only the facts that need no engine answer. */
  readonly engines?: EngineRegistry;
  /** This machine's environment (DATABASE_URL, the host runtime's PGDATA …); default process.env. */
  readonly processEnv?: Readonly<Record<string, string | undefined>>;
  /** Who runs this program (host runtime's OS user); default this process's user. */
  readonly processUser?: { readonly uid: number; readonly name: string };
}

/** The database service's container, inspected (running or stopped). */
export interface DatabaseContainer {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  /** Config.Env as a record. */
  readonly env: Readonly<Record<string, string>>;
  /** Config.User ('' when the image sets none). */
  readonly configUser: string;
  /** PostgreSQL is the container's main process (stopping it stops the container). */
  readonly postgresIsPid1: boolean;
}

/**
 * Where the tools run: in the database container by `docker exec` (in place), in a one-off container with
 * the same volumes (a physical restore when PostgreSQL is PID 1, or the container is stopped), or on this
 * machine (`tsdbOps.backups.runtime` = host).
 */
export type ToolPlaceKind = 'in-place' | 'one-off' | 'host';

export interface ToolPlace {
  /** Where commands that leave PostgreSQL running run. */
  readonly runtime: RuntimeKind;
  /** Where a physical restore (PostgreSQL stopped) runs. */
  readonly restore: Sourced<ToolPlaceKind>;
  /** The OS user the tools run as. */
  readonly user: Sourced<string>;
  /** A runtime for the tools (docker exec into the running container, or this machine). Undefined when the container is stopped. */
  readonly tools?: ToolRuntime;
  /** "container x" / "this machine". */
  readonly where: string;
  /** A path on this machine (under a bind mount of the service) as the tools see it. */
  toolPath(path: string): string;
}

/** The tools' connection to PostgreSQL (user, database, password; host and port only on this machine). */
export interface ToolConnection {
  readonly user: Sourced<string>;
  readonly database: Sourced<string>;
  /** The value is a secret: show only `from`. */
  readonly password: Sourced<string | undefined>;
  /** Host runtime only: `-h` / `-p`. */
  readonly host?: Sourced<string>;
  readonly port?: Sourced<number>;
}

/** The pgBackRest config in effect. */
export interface PgBackRestConfigFacts {
  /** The file pgBackRest reads (as the tools see it), with its source. */
  readonly file: Sourced<string>;
  /** `--config` to pass: the file in effect when pgBackRest would not find it by itself, else undefined. */
  readonly option?: string;
  /** Where the file resolves to when it is a symbolic link. */
  readonly resolved?: string;
  /** The text, read once (undefined when it could not be read: see `error`). */
  readonly text?: string;
  /** The text with every secret value replaced (for anything shown). */
  readonly shown?: string;
  /** Why the file could not be read: names the file, its source and the fix. */
  readonly error?: OpsError;
  readonly stanza: Sourced<string>;
  readonly repositories: readonly RepositoryConfig[];
}

export interface StackContext {
  readonly stack: StackConfig;
  readonly settings: StackSettings;
  /** The database service of the compose file (undefined: none found). */
  readonly dbService?: ComposeService;
  /**
   * Where restore drill reports are written and read on this machine: `drills` in the backups folder (the folder the
   * compose file binds to /var/lib/pgbackrest, else `<infra>/backups`). The drill command, `tsdb-ops drill` and the
   * extension's watcher all use this answer.
   */
  readonly drillsDir: string;
  /** `tsdbOps.backups.runtime`, else container. */
  readonly runtimeKind: Sourced<RuntimeKind>;
  /** The tools' connection (compose file, .env, settings; no engine needed). */
  readonly toolConnection: ToolConnection;
  /** The connection from this machine (DATABASE_URL, else the published port). Throws ConnectionConfigError. */
  connection(): Promise<ConnectionTarget>;
  /** The engine of this stack (its folder's engine settings). Throws EngineConfigError. */
  engine(): Engine;
  docker(): Promise<Dockerode>;
  /** The database container (running or stopped); throws when it does not exist. */
  database(): Promise<DatabaseContainer>;
  /** The running database container; throws naming the service when it is not running. */
  runningDatabase(): Promise<DatabaseContainer>;
  /** docker exec into the running database container, as the tools' OS user (whatever tsdbOps.backups.runtime says). */
  databaseRuntime(): Promise<ToolRuntime>;
  /** Where the tools run and as which OS user. */
  tools(): Promise<ToolPlace>;
  /** PGDATA, the stanza, the config file, the manual backups folder, with every source looked at. */
  site(): Promise<Site>;
  /** As site(), from the compose file, `.env`, the settings and this machine alone (no engine: the container may not exist). */
  infraSite(): Promise<Site>;
  /** The pgBackRest config in effect (never throws for a missing file: see `error`). */
  pgbackrest(): Promise<PgBackRestConfigFacts>;
  /** As pgbackrest(), but throws the pgBackRestConfigError (kind 'config', facts.file) when the file cannot be read. */
  requirePgBackRestConfig(): Promise<PgBackRestConfigFacts & { readonly text: string }>;
  /** Forget what was resolved through the engine (the container restarted, a setting changed). */
  refresh(): void;
}
