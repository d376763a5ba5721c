/** Declarations: the restores, the pre-restore copies and recovering an interrupted restore. */
import { z } from 'zod';
import { COMMAND, ITEM } from '../../ids';
import { confirm, folder, live, notLive, type CommandSpec } from './types';

const F = 'src/ui/commands/restores.ts';
const path = z.string().min(1).optional();
const replaces = 'replaces the live cluster’s data (the old folder is kept as a pre-restore copy)';

export const RESTORES: readonly CommandSpec[] = [
  {
    id: COMMAND.restorePgbackrest,
    // The target keys: core/backups/restore/target.ts (parseRestoreTarget checks how they combine).
    args: z.strictObject({
      folder,
      target: z.enum(['latest', 'set', 'time', 'xid']).optional(),
      set: z.string().optional(),
      time: z.string().optional(),
      xid: z.union([z.string(), z.int()]).optional(),
      exclusive: z.boolean().optional(),
      replayWal: z.boolean().optional(),
      repo: z.union([z.int(), z.string()]).optional(),
      confirm,
    }),
    mode: 'both',
    nodes: ['backupSet', 'pitrWindow'],
    live: live('cluster', replaces),
    result: '`{ target, preRestoreCopy, … }`',
    handler: { file: F, name: 'restorePgbackrest' },
  },
  {
    id: COMMAND.restoreDump,
    args: z.strictObject({
      folder,
      file: path,
      database: z.string().min(1).optional(),
      clean: z.boolean().optional(),
      singleTransaction: z.boolean().optional(),
      exitOnError: z.boolean().optional(),
      confirm,
    }),
    mode: 'both',
    nodes: ['manualBackup'],
    live: live('database', 'restores into a live database (with clean: drops its objects first)'),
    result: '`{ database, warnings, … }`',
    handler: { file: F, name: 'restoreDump' },
  },
  {
    id: COMMAND.restoreDumpAll,
    args: z.strictObject({ folder, file: path, confirm }),
    mode: 'both',
    nodes: ['manualBackup'],
    live: live('cluster', 'runs a pg_dumpall script against the live cluster'),
    result: '`{ warnings, … }`',
    handler: { file: F, name: 'restoreDumpAll' },
  },
  {
    id: COMMAND.restoreBaseBackup,
    args: z.strictObject({ folder, dir: path, confirm }),
    mode: 'both',
    nodes: ['manualBackup'],
    live: live('cluster', replaces),
    result: '`{ preRestoreCopy, … }`',
    handler: { file: F, name: 'restoreBaseBackup' },
  },
  {
    id: COMMAND.restoreDeletePreRestoreCopy,
    args: z.strictObject({ folder, path, confirm }),
    mode: 'both',
    nodes: ['preRestoreCopy'],
    live: live('cluster', 'deletes a pre-restore copy: the way back from a restore'),
    result: '`{ deleted }`',
    handler: { file: F, name: 'deletePreRestoreCopy' },
  },
  {
    id: COMMAND.restoreRecover,
    args: z.strictObject({ folder, action: z.enum(['finish', 'rollback', 'show']).optional() }),
    mode: 'both',
    nodes: [ITEM.interruptedRestore],
    live: notLive(
      'the way out of a restore that never finished, not a new change: only acts on its journal; rollback (the ' +
        'default with args) puts the data it moved aside back, finish completes a restore whose tool completed once ' +
        'the restored server is verified, show gives the journal as text',
    ),
    result: '`{ recovered, journal }` (rollback), `{ finished, deleted, … }` (finish), `{ journal, text }` (show)',
    handler: { file: 'src/ui/commands/restore-recover.ts', name: 'restoreRecover' },
  },
];
