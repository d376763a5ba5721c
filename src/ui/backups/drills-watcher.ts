/**
 * Watches a stack's drills folder (the stack context's `drillsDir`) for reports written by anyone: this window's
 * drill command, `tsdb-ops drill` from a shell, a systemd timer or cron job, another window. Events, not polling:
 * a FileSystemWatcher on `drill-*.json`; a burst (the JSON written, then changed, then its Markdown) is debounced,
 * and only the files that changed are read (core/backups/drill `readDrillReport`). A file that does not parse yet
 * (being written) is skipped: the write that completes it is another event. When the folder does not exist yet, the
 * backups folder is watched for its creation.
 */
import * as vscode from 'vscode';
import { basename, dirname, join } from 'node:path';
import {
  drillReportBase,
  isDrillReportFile,
  readDrillReport,
  readDrillReports,
  type DrillReport,
} from '../../core/backups/drill';
import { Debouncer } from '../debounce';

/** One report that came (`report`) or went (no `report`), by its JSON file. */
export interface DrillReportChange {
  readonly file: string;
  readonly report?: DrillReport;
}

export class DrillsWatcher implements vscode.Disposable {
  private readonly pending = new Map<string, 'read' | 'gone'>();
  private readonly debounce = new Debouncer(() => this.flush());
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    readonly dir: string,
    private readonly onChanges: (changes: DrillReportChange[]) => void,
    private readonly delayMs = 300,
  ) {
    this.watchReports();
    // The folder comes with the first report (mkdir -p): its files are watched anew (a watcher made while the folder
    // did not exist may see nothing on some platforms) and what it already holds is read once.
    const folder = this.watch(dirname(dir), basename(dir));
    folder.onDidCreate(() => {
      this.watchReports();
      void this.readFolder();
    });
  }

  private reports: vscode.FileSystemWatcher | undefined;

  private watchReports(): void {
    this.reports?.dispose();
    const reports = (this.reports = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(this.dir), 'drill-*.json'),
    ));
    reports.onDidCreate((u) => this.note(u.fsPath, 'read'));
    reports.onDidChange((u) => this.note(u.fsPath, 'read'));
    reports.onDidDelete((u) => this.note(u.fsPath, 'gone'));
  }

  private watch(dir: string, glob: string): vscode.FileSystemWatcher {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), glob));
    this.disposables.push(w);
    return w;
  }

  private note(file: string, what: 'read' | 'gone'): void {
    if (!isDrillReportFile(basename(file))) return;
    this.pending.set(file, what);
    this.debounce.schedule(this.delayMs);
  }

  private async flush(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    const changes: DrillReportChange[] = [];
    for (const [file, what] of batch) {
      if (what === 'gone') changes.push({ file });
      else {
        const report = await readDrillReport(file);
        if (report) changes.push({ file, report });
      }
    }
    if (changes.length && !this.disposed) this.onChanges(changes);
  }

  private async readFolder(): Promise<void> {
    const reports = await readDrillReports(this.dir);
    if (reports.length && !this.disposed)
      this.onChanges(reports.map((report) => ({ file: join(this.dir, `${drillReportBase(report)}.json`), report })));
  }

  dispose(): void {
    this.disposed = true;
    this.debounce.dispose();
    for (const d of this.disposables) d.dispose();
    this.reports?.dispose();
  }
}
