/**
 * The engine registry: which Docker engine a set of engine settings names (core/docker/engine-address)
 * and one dockerode client per distinct engine, connected on first use. No VS Code: the extension keeps one
 * (ui/docker-service.ts clears it when an engine setting changes), a command-line program another.
 */
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine, type EngineSettings, type EngineTarget } from './engine-address';
import { disposeSshEngines } from './ssh-engine';

/** `tsdbOps.docker.*` as a plain object (see core/stack/settings). */
export interface EngineSettingValues {
  readonly host?: string;
  readonly context?: string;
  readonly sshKeyFile?: string;
  readonly knownHostsFile?: string;
  readonly tlsCertPath?: string;
}

/** The engine of one set of settings: where it is, and its client (connected once, on first use). */
export interface Engine {
  /** Equal settings give equal keys (and share the client). */
  readonly key: string;
  /** Throws EngineConfigError on a bad setting. */
  readonly target: EngineTarget;
  client(): Promise<Dockerode>;
}

export function engineSettingsKey(values: EngineSettingValues | undefined): {
  host: string | undefined;
  settings: EngineSettings;
  key: string;
} {
  const str = (v: string | undefined) => v?.trim() || undefined;
  const host = str(values?.host);
  const settings: EngineSettings = {
    context: str(values?.context),
    identityFiles: str(values?.sshKeyFile) ? [str(values?.sshKeyFile)!] : undefined,
    knownHostsFiles: str(values?.knownHostsFile) ? [str(values?.knownHostsFile)!] : undefined,
    tlsCertPath: str(values?.tlsCertPath),
  };
  return { host, settings, key: JSON.stringify([host, settings]) };
}

export class EngineRegistry {
  private readonly targets = new Map<string, EngineTarget>();
  private readonly clients = new Map<string, Promise<Dockerode>>();

  /** @param processEnv DOCKER_HOST, DOCKER_CONTEXT … (default this process's environment). */
  constructor(private readonly processEnv: Readonly<Record<string, string | undefined>> = process.env) {}

  /** The engine the settings name. Resolving the target throws EngineConfigError on a bad value. */
  engine(values: EngineSettingValues | undefined): Engine {
    const { host, settings, key } = engineSettingsKey(values);
    const target = (): EngineTarget => {
      let t = this.targets.get(key);
      if (!t) this.targets.set(key, (t = resolveEngine(host, this.processEnv, settings)));
      return t;
    };
    return {
      key,
      get target() {
        return target();
      },
      client: () => {
        let c = this.clients.get(key);
        if (!c) {
          c = connectEngine(target());
          this.clients.set(key, c);
          c.catch(() => this.clients.get(key) === c && this.clients.delete(key));
        }
        return c;
      },
    };
  }

  /** Forget every target and client (an engine setting changed); SSH connections close. */
  clear(): void {
    this.targets.clear();
    this.clients.clear();
    disposeSshEngines();
  }

  dispose(): void {
    this.clear();
  }
}
