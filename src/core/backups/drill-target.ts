/**
 * A drill's target from the stack context: the live database container, the stanza, PGDATA, the
 * pgBackRest config in effect (its path and text, read once: the scratch copy gets the same text) and
 * the tools' OS user and connection. A config that cannot be read stops a pgBackRest drill before anything
 * is created, naming the file, where its path came from and the fix.
 */
import type { StackContext } from '../stack/context';
import type { DrillTarget } from './drill';
import { serverConnectionOf } from './restore/stack';
import { OpsError } from '../errors/error';

export async function drillTargetOf(
  ctx: StackContext,
  opts: { readonly pgbackrest: boolean; readonly checks?: DrillTarget['checks'] },
): Promise<DrillTarget> {
  if (ctx.runtimeKind.value === 'host')
    throw new OpsError(
      'config',
      'Restore drills need Docker (a scratch container); tsdbOps.backups.runtime is "host".',
    );
  const db = await ctx.runningDatabase();
  const place = await ctx.tools();
  const site = await ctx.site();
  const conf = opts.pgbackrest ? await ctx.requirePgBackRestConfig() : await ctx.pgbackrest();
  return {
    docker: await ctx.docker(),
    containerId: db.id,
    project: ctx.stack.projectName,
    stanza: site.stanza,
    configPath: conf.file.value,
    ...(conf.text !== undefined ? { conf: conf.text } : {}),
    dataDir: site.dataDir,
    conn: serverConnectionOf(ctx),
    toolUser: place.user.value,
    ...(opts.checks ? { checks: opts.checks } : {}),
  };
}
