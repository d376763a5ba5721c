/**
 * Every figure of `npm run bench`, in the order they run and print. To add one: write a Figure (see
 * lib.ts: `run(ctx)` returns rows; `ctx.stack()` / `ctx.cluster()` lend the shared real parts;
 * `interleaved()` does the A/B pairs) and list it here. A figure whose feature is missing stays in
 * the registry out until then (printed with notMeasured, lib.ts).
 */
import type { Figure } from './lib';
import { dumpFigure, pgRestoreFigure, pgbackrestRestoreFigure } from './figures/backups';
import { migrationsApplyFigure, migrationStatusFigure } from './figures/migrations';
import { dockerEventFigure, dockerIdleFigure } from './figures/docker';
import { logFollowerFigure } from './figures/logs';
import { restoreDrillFigure } from './figures/drill';
import { restoreReplayFigure } from './figures/replay';
import { restoreReplayPreviewFigure } from './figures/replay-preview';
import { restoreReplayDrillFigure } from './figures/replay-drill';
import { lintFigure } from './figures/lint';
import { backupsViewFigure, extensionHostFigure } from './figures/host';
import { timelineFigure } from './figures/timeline';

export const FIGURES: readonly Figure[] = [
  migrationStatusFigure,
  migrationsApplyFigure,
  logFollowerFigure,
  dumpFigure,
  pgRestoreFigure,
  pgbackrestRestoreFigure,
  restoreDrillFigure,
  restoreReplayFigure,
  restoreReplayDrillFigure,
  restoreReplayPreviewFigure,
  dockerIdleFigure,
  dockerEventFigure,
  extensionHostFigure,
  backupsViewFigure,
  timelineFigure,
  lintFigure,
];
