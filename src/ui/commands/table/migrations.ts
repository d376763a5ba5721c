/** Declarations: sqlx migrations and their lint. */
import { z } from 'zod';
import { COMMAND } from '../../ids';
import { confirm, folder, live, notLive, type CommandSpec } from './types';

const F = 'src/ui/commands/migrations.ts';
const version = z.union([z.int(), z.string().regex(/^[+-]?\d+$/, 'a migration version (digits)')]).optional();

export const MIGRATIONS: readonly CommandSpec[] = [
  {
    id: COMMAND.migrationsRefresh,
    args: z.strictObject({}),
    mode: 'both',
    nodes: [],
    live: notLive('reads the status'),
    result: '`{ stacks: [{ folder, summary, error }] }`',
    handler: { file: F, name: 'migrationsRefresh' },
  },
  {
    id: COMMAND.migrationsStatus,
    args: z.strictObject({ folder }),
    mode: 'both',
    nodes: [],
    live: notLive('reads _sqlx_migrations'),
    result: '`{ database, tableExists, summary, migrations, fileErrors }`',
    handler: { file: F, name: 'migrationsStatus' },
  },
  {
    id: COMMAND.migrationsRunPending,
    args: z.strictObject({ folder, target: version, force: z.boolean().optional(), confirm }),
    mode: 'both',
    nodes: ['migration'],
    live: live('database', 'applies migrations: changes the live schema and data'),
    result: '`{ mode, applied }` (runner `command`: `{ mode, exitCode, summary }`)',
    handler: { file: 'src/ui/commands/migrations-run.ts', name: 'runPending' },
  },
  {
    id: COMMAND.migrationsCreate,
    args: z.strictObject({
      folder,
      name: z.string().min(1).optional(),
      reversible: z.boolean().optional(),
      open: z.boolean().optional(),
    }),
    mode: 'both',
    nodes: [],
    live: notLive('writes new files in the migrations folder; the database is untouched'),
    result: '`{ files, versioning }`',
    handler: { file: F, name: 'migrationsCreate' },
  },
  {
    id: COMMAND.migrationsRevert,
    args: z.strictObject({ folder, confirm }),
    mode: 'both',
    nodes: ['migration'],
    live: live('database', 'runs the newest applied migration’s .down.sql on the live database'),
    result: '`{ reverted }`',
    handler: { file: 'src/ui/commands/migrations-run.ts', name: 'revert' },
  },
  {
    id: COMMAND.migrationsCopyCliCommand,
    args: z.strictObject({ folder, action: z.enum(['run', 'info', 'revert']).optional() }),
    mode: 'both',
    nodes: [],
    live: notLive('copies a command line; the password never goes to the clipboard'),
    result: '`{ command }`',
    handler: { file: F, name: 'copyCliCommand' },
  },
  {
    id: COMMAND.migrationsSetPassword,
    args: z.strictObject({ folder, password: z.string().optional() }),
    mode: 'both',
    nodes: ['migrationsConnectionError'],
    live: notLive('stores the password in SecretStorage'),
    result: '`{ stored, target }`',
    handler: { file: F, name: 'setPassword' },
  },
  {
    id: COMMAND.migrationsLint,
    args: z.strictObject({ folder, files: z.array(z.string()).optional() }),
    mode: 'both',
    nodes: [],
    live: notLive('reads the migrations folder and the catalog'),
    result: '`{ database, files, statements, errors, warnings, findings, … }`',
    handler: { file: 'src/ui/commands/lint.ts', name: 'lint' },
  },
];
