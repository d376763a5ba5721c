/**
 * Figures of issue 14 this runner cannot measure yet. They are printed as such, never faked; each says
 * what is missing. To measure one, write a Figure (see ../lib.ts) and put it in ../registry.ts instead.
 */
import { notMeasured, type Figure } from '../lib';

const pending = (id: string, title: string, rows: Parameters<typeof notMeasured>[]): Figure => ({
  id,
  title,
  run: async () => rows.map((r) => notMeasured(...r)),
});

export const extensionHostFigure = pending('extension-host', 'activation and first tree items', [
  [
    'activation in the real extension host (activate() to views registered)',
    '≤ 30 ms median',
    'not measured yet (runner missing)',
    'needs a run inside the extension host (test/support/vscode); this runner only drives core',
  ],
  [
    'first tree items after activation on the fixture stack',
    '≤ 500 ms',
    'not measured yet (runner missing)',
    'needs a run inside the extension host (test/support/vscode); this runner only drives core',
  ],
]);

export const backupsViewFigure = pending('backups-view', 'Backups view with many backups', [
  [
    'Backups view with 500 pgBackRest sets and 1,000 manual backups: model + tree render',
    '≤ 300 ms',
    'not measured yet (runner missing)',
    'needs a repository holding 500 sets (or an info stand-in) and the tree provider inside the extension host',
  ],
]);
