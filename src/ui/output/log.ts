import * as vscode from 'vscode';

/** The extension's own log ("TimescaleDB Ops" in the Output panel). */
export function createLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel('TimescaleDB Ops', { log: true });
}
