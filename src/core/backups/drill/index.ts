/** Restore drills: the public API (the drill itself is a pipeline of named phases, see ./phases.ts). */
export * from './types';
export { runDrill } from './run';
export {
  DRILL_HOST_LABEL,
  DRILL_LABEL,
  DRILL_PID_LABEL,
  DRILL_PROJECT_LABEL,
  DRILL_STARTED_LABEL,
  HEARTBEAT_STALE_SEC,
  scratchMounts,
  sweepDrills,
  type SweepResult,
} from './sweep';
export { judgeCheckOutput } from './checks';
export {
  drillFreshness,
  drillMarkdown,
  drillReportBase,
  isDrillReportFile,
  latestPerSource,
  readDrillReport,
  readDrillReports,
  withDrillReport,
  withoutDrillReport,
  writeDrillReport,
} from './report';
export { NIGHTLY_DRILL_ARGS, NIGHTLY_SCHEDULES, nightlyDrillText, type NightlySchedule } from './nightly';
