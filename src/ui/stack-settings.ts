/**
 * The VS Code side of core/stack/settings: the `tsdbOps.*` values that decide something about one stack,
 * read with the stack's workspace folder as scope, as the plain object resolveStack() takes (the key list is
 * core's readStackSettings, shared with the command line).
 *
 * Read once per folder and kept until a `tsdbOps.*` setting changes: with 20 stacks, each engine answer's status item
 * and Containers message asked every stack's settings again (400 configuration reads per round of answers).
 */
import * as vscode from 'vscode';
import { readStackSettings, type StackSettings } from '../core/stack/settings';

const read = new Map<string, StackSettings>();

// Registered when this module loads, before any listener of the views or services: a handler of the same change
// event that reads the settings never sees the values from before it.
vscode.workspace.onDidChangeConfiguration((e) => {
  if (e.affectsConfiguration('tsdbOps')) read.clear();
});

export function stackSettingsOf(folder: string | undefined): StackSettings {
  const key = folder ?? '';
  const known = read.get(key);
  if (known) return known;
  const c = vscode.workspace.getConfiguration('tsdbOps', folder ? vscode.Uri.file(folder) : undefined);
  const settings = readStackSettings({
    string: (k) => c.get<string>(k),
    number: (k) => c.get<number>(k),
    strings: (k) => c.get<string[]>(k),
  });
  read.set(key, settings);
  return settings;
}
