/**
 * The `tsdbOps.*` settings that decide something about one stack, as a plain object: the VS Code side
 * reads them with the stack's folder as scope (ui/stack-settings.ts), a command-line program from its
 * own flags or a file. Core never reads VS Code's configuration.
 */
import type { DumpTo } from './dump-to';

export type RuntimeKind = 'container' | 'host';

export interface StackSettings {
  readonly backups?: {
    /** `tsdbOps.backups.runtime`: where the tools run (default container). */
    readonly runtime?: RuntimeKind;
    /** `tsdbOps.backups.stanza`. */
    readonly stanza?: string;
    /** `tsdbOps.backups.pgbackrestConfig`: the config file, as the tools see it. */
    readonly pgbackrestConfig?: string;
    /** `tsdbOps.backups.hostBinDirs`: folders searched for the tools with the host runtime. */
    readonly hostBinDirs?: readonly string[];
    /** `tsdbOps.backups.host` / `.port`: the server the host runtime's tools connect to. */
    readonly host?: string;
    readonly port?: number;
    /** `tsdbOps.backups.dumpTo`. */
    readonly dumpTo?: DumpTo;
  };
  readonly docker?: {
    /** `tsdbOps.docker.host`, `.context`, `.sshKeyFile`, `.knownHostsFile`, `.tlsCertPath`. */
    readonly host?: string;
    readonly context?: string;
    readonly sshKeyFile?: string;
    readonly knownHostsFile?: string;
    readonly tlsCertPath?: string;
  };
  readonly drill?: {
    /** `tsdbOps.drill.checks`: SQL check files (relative to the workspace folder). */
    readonly checks?: readonly string[];
  };
  readonly stacks?: {
    /** `tsdbOps.stacks.production`: patterns of stacks that are production. */
    readonly production?: readonly string[];
  };
}

export { sourced, type Sourced, type SourceKind } from '../infra/sourced';

/**
 * How one side reads a `tsdbOps.*` value by its key without the prefix (`backups.stanza`): VS Code's configuration
 * with the stack's folder as scope, or the command line's settings.json (which names a wrong type as a usage error).
 */
export interface SettingsSource {
  string(key: string): string | undefined;
  number(key: string): number | undefined;
  strings(key: string): readonly string[] | undefined;
}

/** The one list of the keys that decide something about a stack, read from either side. */
export function readStackSettings(src: SettingsSource): StackSettings {
  const str = (k: string): string | undefined => src.string(k)?.trim() || undefined;
  const port = src.number('backups.port');
  const runtime = str('backups.runtime');
  return {
    backups: {
      // Only `host` is a choice: VS Code hands back the default `container` when nothing is set.
      runtime: runtime === 'host' ? 'host' : undefined,
      stanza: str('backups.stanza'),
      pgbackrestConfig: str('backups.pgbackrestConfig'),
      hostBinDirs: src.strings('backups.hostBinDirs') ?? [],
      host: str('backups.host'),
      port: typeof port === 'number' && port > 0 ? port : undefined,
      dumpTo: str('backups.dumpTo') as DumpTo | undefined,
    },
    docker: {
      host: str('docker.host'),
      context: str('docker.context'),
      sshKeyFile: str('docker.sshKeyFile'),
      knownHostsFile: str('docker.knownHostsFile'),
      tlsCertPath: str('docker.tlsCertPath'),
    },
    drill: { checks: src.strings('drill.checks') ?? [] },
    stacks: { production: src.strings('stacks.production') ?? [] },
  };
}
