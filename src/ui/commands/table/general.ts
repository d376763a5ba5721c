/** Declarations: the stack list, settings, output, the Docker context and the status bar pin. */
import { z } from 'zod';
import { COMMAND } from '../../ids';
import { folder, notLive, type CommandSpec } from './types';

const F = 'src/ui/commands/index.ts';

export const GENERAL: readonly CommandSpec[] = [
  {
    id: COMMAND.refresh,
    args: z.strictObject({}),
    mode: 'both',
    nodes: [],
    live: notLive('reads the stacks and their containers again'),
    result: '`{ stacks, docker? }`',
    handler: { file: F, name: 'refresh' },
  },
  {
    id: COMMAND.pickInfraFolder,
    args: z.strictObject({ path: z.string().min(1).optional(), folder }),
    mode: 'both',
    nodes: [],
    live: notLive('writes the tsdbOps.infraPath setting only'),
    result: '`{ infraPath, folder }`',
    handler: { file: F, name: 'pickInfraFolder' },
  },
  {
    id: COMMAND.openSettings,
    args: z.strictObject({}),
    mode: 'palette',
    nodes: [],
    live: notLive('opens the settings editor'),
    result: 'nothing',
    handler: { file: F, name: 'openSettings' },
  },
  {
    id: COMMAND.showOutput,
    args: z.strictObject({}),
    mode: 'palette',
    nodes: [],
    live: notLive('shows the log channel'),
    result: 'nothing',
    handler: { file: F, name: 'showOutput' },
  },
  {
    id: COMMAND.openComposeFile,
    args: z.strictObject({ folder }),
    mode: 'both',
    nodes: [],
    live: notLive('opens the compose file in an editor'),
    result: '`{ file }`',
    handler: { file: F, name: 'openComposeFile' },
  },
  {
    id: COMMAND.cancelOperation,
    args: z.strictObject({ folder }),
    mode: 'both',
    nodes: [],
    live: notLive('cancels the running backup, restore, drill or migration run; it undoes its own steps'),
    result:
      '`{ cancelled }`: the title of the operation it cancelled (that command then ends as Cancelled), or `null` when none ran',
    handler: { file: F, name: 'cancelOperation' },
  },
  {
    id: COMMAND.dockerSwitchContext,
    args: z.strictObject({
      context: z.string(),
      target: z.enum(['global', 'workspace', 'folder']).optional(),
      folder,
    }),
    mode: 'both',
    nodes: [],
    live: notLive('writes the tsdbOps.docker.context setting; containers keep running'),
    result: '`{ context, host, … }`',
    handler: { file: 'src/ui/commands/docker-context.ts', name: 'switchContext' },
  },
  {
    id: COMMAND.stackPinStatusBar,
    args: z.strictObject({ stack: z.string().optional() }),
    mode: 'both',
    nodes: [],
    live: notLive('changes which stack the status bar shows'),
    result: '`{ pinned, folder }`',
    handler: { file: 'src/ui/commands/status-pin.ts', name: 'pin' },
  },
  {
    id: COMMAND.stackUnpinStatusBar,
    args: z.strictObject({}),
    mode: 'both',
    nodes: [],
    live: notLive('changes which stack the status bar shows'),
    result: '`{ pinned: undefined }`',
    handler: { file: 'src/ui/commands/status-pin.ts', name: 'unpin' },
  },
];
