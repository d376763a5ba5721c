/**
 * The VS Code side of core/stack/settings: the `tsdbOps.*` values that decide something about one stack,
 * read with the stack's workspace folder as scope, as the plain object resolveStack() takes (the key list is
 * core's readStackSettings, shared with the command line).
 */
import * as vscode from 'vscode';
import { readStackSettings, type StackSettings } from '../core/stack/settings';

export function stackSettingsOf(folder: string | undefined): StackSettings {
  const c = vscode.workspace.getConfiguration('tsdbOps', folder ? vscode.Uri.file(folder) : undefined);
  return readStackSettings({
    string: (k) => c.get<string>(k),
    number: (k) => c.get<number>(k),
    strings: (k) => c.get<string[]>(k),
  });
}
