/**
 * The engine settings of one workspace folder: `tsdbOps.docker.host`, `.context`, `.sshKeyFile`,
 * `.knownHostsFile` and `.tlsCertPath` are read with the folder as scope, so each folder of a multi-root
 * workspace (say `dev` on the local engine, `staging` over ssh://) has its own engine. Without a folder
 * the window's values apply.
 */
import * as vscode from 'vscode';
import type { EngineSettings } from '../core/docker/engine-address';

export interface FolderEngineSettings {
  readonly host: string | undefined;
  readonly settings: EngineSettings;
  /** Equal for folders whose settings are equal: they share one client and one SSH connection. */
  readonly key: string;
}

/** The settings that decide a folder's engine; a change of any of them rebuilds its client. */
export const ENGINE_SETTINGS = [
  'tsdbOps.docker.host',
  'tsdbOps.docker.context',
  'tsdbOps.docker.sshKeyFile',
  'tsdbOps.docker.knownHostsFile',
  'tsdbOps.docker.tlsCertPath',
];

export function engineSettingsOf(folder?: string): FolderEngineSettings {
  const c = vscode.workspace.getConfiguration('tsdbOps.docker', folder ? vscode.Uri.file(folder) : undefined);
  const str = (k: string): string | undefined => c.get<string>(k)?.trim() || undefined;
  const file = (k: string): string[] | undefined => (str(k) ? [str(k)!] : undefined);
  const host = str('host');
  const settings: EngineSettings = {
    context: str('context'),
    identityFiles: file('sshKeyFile'),
    knownHostsFiles: file('knownHostsFile'),
    tlsCertPath: str('tlsCertPath'),
  };
  return { host, settings, key: JSON.stringify([host, settings]) };
}
