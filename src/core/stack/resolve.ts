/**
 * The resolver behind core/stack/context's `resolveStack()`: the compose file's, the `.env`'s and the
 * settings' facts at once, the engine's on first use (each kept until refresh()).
 */
import type Dockerode from 'dockerode';
import { existsSync } from 'node:fs';
import type { ComposeService, StackConfig } from '../infra';
import { sourced } from '../infra/sourced';
import type { Engine } from '../docker/engines';
import { projectContainers, ServiceNotCreatedError, serviceNotRunning } from '../docker/find';
import { ContainerRuntime, envRecord, HostRuntime, postgresIsPid1, type ToolRuntime } from '../runtime';
import { resolveConnection, stackCredentials, type ConnectionTarget } from '../postgres/connection';
import { maskConf, repositoriesInConf } from './pgbackrest-conf';
import type { RuntimeKind, Sourced, SourceKind, StackSettings } from './settings';
import {
  containerPath,
  currentProcessUser,
  drillsHostDir,
  hostPath,
  readSite,
  toolUserOf,
  type Site,
  type SiteSource,
} from './site';
import { pgBackRestConfigError } from '../errors/backups';
import { OpsError } from '../errors/error';
import {
  type DatabaseContainer,
  type PgBackRestConfigFacts,
  type StackContext,
  type StackDeps,
  type ToolConnection,
  type ToolPlace,
  type ToolPlaceKind,
} from './context-types';

export class StackResolver implements StackContext {
  readonly dbService?: ComposeService;
  readonly drillsDir: string;
  readonly runtimeKind: Sourced<RuntimeKind>;
  readonly toolConnection: ToolConnection;
  private cache = new Map<string, Promise<unknown>>();
  private dbState: string | undefined;

  constructor(
    readonly stack: StackConfig,
    readonly settings: StackSettings,
    private readonly deps: StackDeps,
  ) {
    this.dbService = stack.dbService;
    this.drillsDir = drillsHostDir(stack);
    const rt = settings.backups?.runtime;
    this.runtimeKind = rt
      ? sourced(rt, 'setting', 'setting tsdbOps.backups.runtime')
      : sourced<RuntimeKind>('container', 'default', 'default (the database container)');
    const cred = stackCredentials(stack);
    const host =
      this.runtimeKind.value === 'host'
        ? settings.backups?.host?.trim()
          ? sourced(settings.backups.host.trim(), 'setting', 'setting tsdbOps.backups.host')
          : sourced('localhost', 'default', 'default (localhost)')
        : undefined;
    const port =
      this.runtimeKind.value === 'host'
        ? settings.backups?.port
          ? sourced(settings.backups.port, 'setting', 'setting tsdbOps.backups.port')
          : stack.env.port
            ? sourced(stack.env.port, 'env-file', `POSTGRES_PORT in ${stack.envFile}`)
            : sourced(5432, 'default', 'default (5432)')
        : undefined;
    this.toolConnection = { ...cred, ...(host ? { host } : {}), ...(port ? { port } : {}) };
  }

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.cache.set(key, p);
      // A failure is not kept: the next call asks again (the container may have started).
      p.catch(() => this.cache.get(key) === p && this.cache.delete(key));
    }
    return p;
  }

  refresh(): void {
    this.cache = new Map();
  }

  connection(): Promise<ConnectionTarget> {
    return resolveConnection(this.stack, this.deps.processEnv ?? process.env);
  }

  engine(): Engine {
    if (!this.deps.engines)
      throw new OpsError('internal', 'resolveStack was given no engine registry: this caller cannot reach Docker.');
    return this.deps.engines.engine(this.settings.docker);
  }

  docker(): Promise<Dockerode> {
    return this.engine().client();
  }

  private requireService(): ComposeService {
    if (!this.dbService)
      throw new OpsError(
        'config',
        `${this.stack.composeFile} has no database service (a service running a timescaledb or postgres image).`,
      );
    return this.dbService;
  }

  database(): Promise<DatabaseContainer> {
    return this.once('database', async () => {
      const svc = this.requireService();
      const docker = await this.docker();
      const list = await projectContainers(docker, this.stack.projectName, svc.name);
      const c = list.find((x) => x.State === 'running') ?? list[0];
      if (!c) throw new ServiceNotCreatedError(this.stack.projectName, svc.name);
      const info = await docker.getContainer(c.Id).inspect();
      this.dbState = c.State;
      const name = info.Name.replace(/^\//, '');
      const running = info.State.Running;
      const probe = new ContainerRuntime(docker, c.Id, `container ${name}`);
      return {
        id: c.Id,
        name,
        running,
        env: envRecord(info.Config.Env),
        configUser: info.Config.User ?? '',
        postgresIsPid1: running ? await postgresIsPid1(probe) : false,
      };
    });
  }

  async runningDatabase(): Promise<DatabaseContainer> {
    const db = await this.database();
    if (db.running) return db;
    this.refresh();
    const again = await this.database();
    if (!again.running) throw serviceNotRunning(this.dbService!.name, this.dbState ?? 'stopped');
    return again;
  }

  async databaseRuntime(): Promise<ToolRuntime> {
    const db = await this.runningDatabase();
    const u = toolUserOf('container', undefined, { name: db.name, user: db.configUser });
    return new ContainerRuntime(await this.docker(), db.id, `container ${db.name}`, u.user);
  }

  tools(): Promise<ToolPlace> {
    return this.once('tools', async (): Promise<ToolPlace> => {
      if (this.runtimeKind.value === 'host') {
        const u = toolUserOf('host', this.deps.processUser ?? currentProcessUser());
        return {
          runtime: 'host',
          restore: sourced('host', this.runtimeKind.source, this.runtimeKind.from),
          user: sourced(u.user, u.runAs ? 'default' : 'process-env', u.from),
          tools: new HostRuntime(this.settings.backups?.hostBinDirs ?? [], u.runAs),
          where: 'this machine',
          toolPath: (p) => p,
        };
      }
      const db = await this.database();
      const docker = await this.docker();
      const u = toolUserOf('container', undefined, { name: db.name, user: db.configUser });
      const volumes = this.dbService!.volumes;
      const restore = restorePlaceOf(db);
      return {
        runtime: 'container',
        restore,
        user: sourced(u.user, db.configUser ? 'container' : 'default', u.from),
        tools: db.running ? new ContainerRuntime(docker, db.id, `container ${db.name}`, u.user) : undefined,
        where: `container ${db.name}`,
        toolPath: (p) => containerPath(volumes, p),
      };
    });
  }

  site(): Promise<Site> {
    return this.once('site', async () => {
      const b = this.settings.backups ?? {};
      const siteSettings = { stanza: b.stanza, pgbackrestConfig: b.pgbackrestConfig, runtime: this.runtimeKind.value };
      const place = await this.tools();
      if (place.runtime === 'host')
        return readSite(this.stack, {
          settings: siteSettings,
          runtime: place.tools,
          processEnv: this.deps.processEnv,
          processUser: this.deps.processUser,
        });
      const db = await this.database();
      return readSite(this.stack, {
        settings: siteSettings,
        runtime: place.tools,
        container: {
          name: db.name,
          env: Object.entries(db.env).map(([k, v]) => `${k}=${v}`),
          user: db.configUser,
        },
      });
    });
  }

  infraSite(): Promise<Site> {
    return this.once('infraSite', () => {
      const b = this.settings.backups ?? {};
      return readSite(this.stack, {
        settings: { stanza: b.stanza, pgbackrestConfig: b.pgbackrestConfig, runtime: this.runtimeKind.value },
        processEnv: this.deps.processEnv,
        processUser: this.deps.processUser,
      });
    });
  }

  pgbackrest(): Promise<PgBackRestConfigFacts> {
    return this.once('pgbackrest', async (): Promise<PgBackRestConfigFacts> => {
      const site = await this.site();
      const place = await this.tools();
      const fileSource = usedSource(site.sources, 'pgbackrestConfig');
      const file = sourced(site.configFile, fileSource.kind, fileSource.from);
      const stanzaSource = usedSource(site.sources, 'stanza');
      const stanza = sourced(site.stanza, stanzaSource.kind, stanzaSource.from);
      const resolved = place.tools ? await readLink(place.tools, site.configFile) : undefined;
      const text = site.conf;
      const error = text === undefined ? await this.configError(file, place, site.configFile, place.tools) : undefined;
      return {
        file,
        option: site.configOption,
        ...(resolved && resolved !== site.configFile ? { resolved } : {}),
        ...(text !== undefined ? { text, shown: maskConf(text) } : {}),
        ...(error ? { error } : {}),
        stanza,
        repositories: repositoriesInConf(text, site.stanza),
      };
    });
  }

  async requirePgBackRestConfig(): Promise<PgBackRestConfigFacts & { readonly text: string }> {
    const p = await this.pgbackrest();
    if (p.text === undefined)
      throw p.error ?? new OpsError('config', `The pgBackRest config ${p.file.value} could not be read.`);
    return p as PgBackRestConfigFacts & { text: string };
  }

  private async configError(
    file: Sourced<string>,
    place: ToolPlace,
    path: string,
    rt: ToolRuntime | undefined,
  ): Promise<OpsError> {
    let exists: boolean | undefined;
    if (rt) exists = (await rt.run(['test', '-e', path]).catch(() => undefined))?.exitCode === 0;
    else {
      const onHost = hostPath(this.dbService?.volumes ?? [], path);
      if (onHost) exists = existsSync(onHost);
    }
    const where = place.where;
    const fix =
      file.source === 'setting'
        ? `point tsdbOps.backups.pgbackrestConfig at the file pgBackRest reads in ${where}, or clear it`
        : file.source === 'container-env' || file.source === 'compose' || file.source === 'process-env'
          ? `mount the file at ${path} in service ${this.dbService?.name ?? '?'} of ${this.stack.composeFile}, ` +
            `or change PGBACKREST_CONFIG there (or set tsdbOps.backups.pgbackrestConfig)`
          : `create it, or set tsdbOps.backups.pgbackrestConfig to the file pgBackRest reads`;
    if (exists === false || exists === undefined)
      return pgBackRestConfigError(
        path,
        `The pgBackRest config ${path} (from ${file.from}) does not exist in ${where}` +
          `${exists === undefined ? ' (or cannot be checked while the container is stopped)' : ''}: ${fix}.`,
      );
    return pgBackRestConfigError(
      path,
      `The pgBackRest config ${path} (from ${file.from}) cannot be read by OS user ${place.user.value} in ${where}: ` +
        `make it readable by that user (chmod 640 and the user's group), or ${fix}.`,
    );
  }
}

/** Where a physical restore runs: in place while PostgreSQL runs under another main process, else a one-off container. */
export function restorePlaceOf(
  db: Pick<DatabaseContainer, 'name' | 'running' | 'postgresIsPid1'>,
): Sourced<ToolPlaceKind> {
  if (!db.running) return sourced('one-off', 'container', `container ${db.name} is stopped`);
  if (db.postgresIsPid1)
    return sourced('one-off', 'container', `PostgreSQL is the main process (PID 1) of container ${db.name}`);
  return sourced('in-place', 'container', `PostgreSQL runs under another main process in container ${db.name}`);
}

async function readLink(rt: ToolRuntime, file: string): Promise<string | undefined> {
  const r = await rt.run(['readlink', '-f', file]).catch(() => undefined);
  return r?.exitCode === 0 ? r.stdoutLines[0]?.trim() || undefined : undefined;
}

/** The source of the value a site rule used, as a SourceKind and its text. */
function usedSource(sources: readonly SiteSource[], field: SiteSource['field']): { kind: SourceKind; from: string } {
  const s = sources.find((x) => x.field === field && x.used);
  return s ? { kind: sourceKindOf(s.from), from: s.from } : { kind: 'default', from: 'default' };
}

export function sourceKindOf(from: string): SourceKind {
  if (from.startsWith('setting ')) return 'setting';
  if (/ of container /.test(from)) return 'container-env';
  if (/ of service /.test(from)) return 'compose';
  if (/this machine's environment/.test(from)) return 'process-env';
  if (/Ofelia job/.test(from)) return 'ofelia-job';
  if (/^(section|pg1-path)/.test(from)) return 'config-file';
  return 'default';
}
