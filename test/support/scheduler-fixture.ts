/**
 * The Backups overview's `scheduler` for tests that build an overview by hand: Ofelia running. The scheduler's
 * own states are tested in test/unit/scheduler-state.test.ts.
 */
export const RUNNING_SCHEDULER = {
  status: 'running',
  scheduling: 'yes',
  lookedFor: 'service ofelia',
  profiles: ['full'],
  neverStarted: false,
  headline: 'Ofelia running',
  detail: [],
} as const;
