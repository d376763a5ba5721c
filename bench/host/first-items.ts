/**
 * The first-tree-items probe of the extension-host bench, run by the bench's own runner (runner.ts) before mocha
 * and the suite load: loading them takes the extension host's thread for 0.3 to 3 s right after activation (mocha's
 * modules, the suite bundle's source map), which held up the extension's first file reads and was measured as
 * its time. The probe is small and loads nothing: it activates the extension, polls each view through the
 * extension's API every 5 ms until it shows what was read (not a placeholder), and leaves the timings on
 * globalThis for the suite (extension-host.bench.ts) to report.
 */
import * as vscode from 'vscode';

export interface Row {
  label: string;
  description?: string;
}

export interface FirstItems {
  /** ms after the start of activate(), each view's first content and the end of discovery. */
  firstRenderMs: number;
  viewsMs: { containers: number; migrations: number; backups: number; discovery: number };
  /** How long after activate() ended the probe started (the first-render figure cannot be below it). */
  startAfterActivationMs: number;
  wasActive: boolean;
  rows: { containers: Row[]; migrations: Row[]; backups: Row[] };
}

interface ProbedApi {
  ready: Promise<void>;
  containers?: { items(): Promise<Row[]> };
  migrations?: { items(): Promise<Row[]> };
  backups?: { rows(): Promise<Row[]> };
}

const KEY = '__tsdbOpsFirstItems';

export function mark(name: string): PerformanceEntry {
  const e = performance.getEntriesByName(name).at(-1);
  if (!e) throw new Error(`no performance mark ${name}: is dist/extension.js built from this tree (npm run build)?`);
  return e;
}

/** Measures the first items of every view (see the file's comment). */
export async function probeFirstItems(startedAt = performance.now()): Promise<FirstItems> {
  const ext = vscode.extensions.getExtension<ProbedApi>('tsdb-ops-team.tsdb-ops');
  if (!ext) throw new Error('the extension is not installed in this window');
  const wasActive = ext.isActive;
  const api = await ext.activate();
  const start = mark('tsdbOps.activate.start');
  const end = mark('tsdbOps.activate.end');
  // Each view until it shows what was read, not its placeholder ("Connecting to Docker…", "Reading
  // migrations…"; the Backups view has none: its getChildren waits for the overview).
  const PLACEHOLDER = /^(Connecting to Docker…|Reading migrations…)$/;
  const settled = async (get: () => Promise<Row[]>): Promise<{ rows: Row[]; ms: number }> => {
    for (;;) {
      const rows = await get();
      if (!rows.some((r) => PLACEHOLDER.test(r.label))) return { rows, ms: performance.now() - start.startTime };
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  let readyMs = NaN;
  const ready = api.ready.then(() => (readyMs = performance.now() - start.startTime));
  const [c, m, b] = await Promise.all([
    settled(() => api.containers!.items()),
    settled(() => api.migrations!.items()),
    settled(() => api.backups!.rows()),
  ]);
  const firstRenderMs = performance.now() - start.startTime;
  await ready;
  return {
    firstRenderMs,
    viewsMs: { containers: c.ms, migrations: m.ms, backups: b.ms, discovery: readyMs },
    startAfterActivationMs: Math.max(0, startedAt - end.startTime),
    wasActive,
    rows: { containers: c.rows, migrations: m.rows, backups: b.rows },
  };
}

/** What the runner measured (undefined when the suite runs under the plain test runner). */
export function probed(): FirstItems | undefined {
  return (globalThis as Record<string, unknown>)[KEY] as FirstItems | undefined;
}

export function keep(f: FirstItems): void {
  (globalThis as Record<string, unknown>)[KEY] = f;
}
