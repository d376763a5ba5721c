/**
 * Physical restores (pgBackRest, pg_basebackup) done the guide's way, but safely:
 *
 *   verify the backup → write a journal beside PGDATA → stop PostgreSQL → check it stopped
 *   → move PGDATA aside (`<PGDATA>.pre-restore-<stamp>`) → restore into a fresh PGDATA → start
 *   → wait until it accepts connections (and left recovery) → verify → drop the journal.
 *
 * Nothing is deleted: the old data folder is kept until the user deletes it. On any failure or
 * cancel the restore rolls back (stop, drop the half-restored folder, move the old one back, start).
 * The journal (`.tsdbops-restore-<name>.json` next to PGDATA, on the same volume) makes a crash of
 * the extension itself recoverable: `recoverInterruptedRestore` (run before every restore and by the
 * recovery command) finds it and rolls back the same way.
 *
 * The restore is a pipeline of named phases with their undos (./physical/restore.ts); this path keeps
 * the public API.
 */
export type { PhysicalRestoreResult, PhysicalSource, PhysicalTarget, RestoreJournal } from './physical/types';
export {
  journalPath,
  parseDfAvailable,
  serverState,
  stanzaControlArgv,
  startServer,
  stopServer,
  waitReady,
  type ServerState,
} from './physical/server';
export {
  parseTarVerboseLine,
  restorableSets,
  verifyBaseBackup,
  verifySource,
  type VerifiedSource,
} from './physical/verify';
export {
  deletePreRestoreCopy,
  inProgressElsewhere,
  ownerGone,
  readJournal,
  recoverInterruptedRestore,
  refuseIfRunningElsewhere,
} from './physical/journal';
export { restorePhysical } from './physical/restore';
export { describeJournal, finishInterruptedRestore, previousDataWhere, type FinishResult } from './physical/finish';
