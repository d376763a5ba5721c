/**
 * The VS Code side of core/stack/settings: the `tsdbOps.*` values that decide something about one stack,
 * read with the stack's workspace folder as scope, as the plain object resolveStack() takes.
 */
import * as vscode from 'vscode';
import type { StackSettings } from '../core/stack/settings';
import type { DumpTo } from '../core/stack/dump-to';

export function stackSettingsOf(folder: string | undefined): StackSettings {
  const c = vscode.workspace.getConfiguration('tsdbOps', folder ? vscode.Uri.file(folder) : undefined);
  const str = (k: string): string | undefined => c.get<string>(k)?.trim() || undefined;
  const port = c.get<number>('backups.port');
  return {
    backups: {
      runtime: c.get<string>('backups.runtime') === 'host' ? 'host' : undefined,
      stanza: str('backups.stanza'),
      pgbackrestConfig: str('backups.pgbackrestConfig'),
      hostBinDirs: c.get<string[]>('backups.hostBinDirs') ?? [],
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
    drill: { checks: c.get<string[]>('drill.checks') ?? [] },
    stacks: { production: c.get<string[]>('stacks.production') ?? [] },
  };
}
