/** Declarations: the stack (Compose) and its containers. */
import { z } from 'zod';
import { COMMAND } from '../../ids';
import { confirm, folder, live, notLive, type CommandSpec } from './types';

const F = 'src/ui/commands/containers.ts';
const S = 'src/ui/commands/containers-services.ts';
const profile = z.enum(['database', 'full']).optional();
const service = z.string().min(1).optional();
/** Stop and Restart change the stack when they stop the database (its connections drop). */
const database = {
  text: 'when `service` is the database service',
  test: (args: Record<string, unknown>, dbService?: string) =>
    args['service'] === undefined || args['service'] === dbService,
};

export const CONTAINERS: readonly CommandSpec[] = [
  {
    id: COMMAND.stackUp,
    args: z.strictObject({ folder, profile }),
    mode: 'both',
    nodes: [],
    live: notLive('compose up -d only creates or starts what is missing; no data is touched, nothing is removed'),
    result: '`{ profile, project, services }`',
    handler: { file: F, name: 'stackUp' },
  },
  {
    id: COMMAND.stackDown,
    args: z.strictObject({ folder, profile, confirm }),
    mode: 'both',
    nodes: [],
    live: live('cluster', 'compose down removes the containers: the database is unavailable until the stack starts'),
    result: '`{ profile, project, services }`',
    handler: { file: F, name: 'stackDown' },
  },
  {
    id: COMMAND.stackCleanStart,
    args: z.strictObject({ folder, profile, builtin: z.boolean().optional(), confirm }),
    mode: 'both',
    nodes: [],
    live: live('cluster', 'runs the infra’s start script: creates folders, (re)starts the stack, sets up pgBackRest'),
    result: '`{ steps, project, services, … }`',
    handler: { file: F, name: 'stackCleanStart' },
  },
  {
    id: COMMAND.stackActions,
    args: z.strictObject({ folder }),
    mode: 'palette',
    nodes: [],
    live: notLive('a quick pick; each action it offers is its own command with its own guard'),
    result: 'the picked action’s result',
    handler: { file: F, name: 'stackActions' },
  },
  {
    id: COMMAND.containerStart,
    args: z.strictObject({ folder, service }),
    mode: 'both',
    nodes: ['container'],
    live: notLive('starts a stopped container; its data is untouched'),
    result: '`{ service, containerId, action, changed, status }`',
    handler: { file: S, name: 'lifecycle' },
  },
  {
    id: COMMAND.containerStop,
    args: z.strictObject({ folder, service, confirm }),
    mode: 'both',
    nodes: ['container'],
    live: live('cluster', 'stopping the database drops every connection', database),
    result: '`{ service, containerId, action, changed, status }`',
    handler: { file: S, name: 'lifecycle' },
  },
  {
    id: COMMAND.containerRestart,
    args: z.strictObject({ folder, service, confirm }),
    mode: 'both',
    nodes: ['container'],
    live: live('cluster', 'restarting the database drops every connection', database),
    result: '`{ service, containerId, action, changed, status }`',
    handler: { file: S, name: 'lifecycle' },
  },
  {
    id: COMMAND.containerLogs,
    args: z.strictObject({
      folder,
      service,
      tail: z.union([z.int().min(0), z.literal('all')]).optional(),
      follow: z.boolean().optional(),
      show: z.boolean().optional(),
    }),
    mode: 'both',
    nodes: ['container'],
    live: notLive('reads logs'),
    result: '`{ service, containerId, channel, lines?, following }`',
    handler: { file: S, name: 'containerLogs' },
  },
  {
    id: COMMAND.containerStopLogs,
    args: z.strictObject({ folder, service }),
    mode: 'both',
    nodes: ['container'],
    live: notLive('stops following logs'),
    result: '`{ stopped }`',
    handler: { file: S, name: 'containerStopLogs' },
  },
  {
    id: COMMAND.containerShell,
    args: z.strictObject({ folder, service, preserveFocus: z.boolean().optional() }),
    mode: 'both',
    nodes: ['container'],
    live: notLive('opens a terminal; what is typed there is the user’s'),
    result: '`{ service, containerId, shell, terminal }`',
    handler: { file: S, name: 'containerShell' },
  },
];
