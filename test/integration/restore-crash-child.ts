/**
 * Runs a pgBackRest restore of the fixture stack and prints every line: the parent test kills this
 * process midway (the way VS Code dies), then checks that the journal lets the next run roll back.
 * Env: DOCKER_HOST, CONTAINER (the database container id), PGUSER_ (POSTGRES_USER), MODE (`oneoff`
 * for a PostgreSQL-as-PID-1 container, else in place), BASE_BACKUP (a pg_basebackup folder to restore instead of
 * pgBackRest's newest set).
 */
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime } from '../../src/core/runtime';
import { restorePhysical } from '../../src/core/backups/restore/physical';
import { restoreInOneOff } from '../../src/core/backups/restore/oneoff';
import { toolUserOf } from '../../src/core/stack/site';

async function main(): Promise<void> {
  const client = await connectEngine(resolveEngine(undefined, process.env));
  const rt = new ContainerRuntime(client, process.env.CONTAINER!, 'container timescaledb');
  const ctx = {
    step: (s: string) => process.stdout.write(`step: ${s}\n`),
    line: (l: string) => process.stdout.write(`${l}\n`),
  };
  const conn = { user: process.env.PGUSER_! };
  const dataDir = '/home/postgres/pgdata/data';
  if (process.env.MODE === 'oneoff')
    await restoreInOneOff(
      {
        docker: client,
        containerId: process.env.CONTAINER!,
        dataDir,
        conn,
        // The tools' OS user, by the rule the stack context answers with (tools().user).
        user: toolUserOf('container', undefined, {
          name: 'timescaledb',
          user: (await client.getContainer(process.env.CONTAINER!).inspect()).Config.User,
        }).user,
      },
      { kind: 'pgbackrest', stanza: 'db' },
      ctx,
    );
  else
    await restorePhysical(
      { rt, dataDir, conn },
      process.env.BASE_BACKUP
        ? { kind: 'baseBackup', dir: process.env.BASE_BACKUP }
        : { kind: 'pgbackrest', stanza: 'db' },
      ctx,
    );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stdout.write(`error: ${String(e)}\n`);
    process.exit(1);
  },
);
