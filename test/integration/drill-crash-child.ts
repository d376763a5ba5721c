/**
 * Runs a restore drill of the fixture stack and prints every line: the parent test kills this process
 * midway (the way an extension host dies), then checks that a sweep removes what it left.
 * Env: DOCKER_HOST, CONTAINER (the database container id), PROJECT, PGUSER_ (POSTGRES_USER).
 */
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { runDrill } from '../../src/core/backups/drill';

async function main(): Promise<void> {
  const docker = await connectEngine(resolveEngine(undefined, process.env));
  await runDrill(
    {
      docker,
      containerId: process.env.CONTAINER!,
      project: process.env.PROJECT!,
      stanza: 'db',
      configPath: '/home/postgres/pgdata/backup/pgbackrest.conf',
      dataDir: '/home/postgres/pgdata/data',
      conn: { user: process.env.PGUSER_! },
    },
    { kind: 'pgbackrest' },
    { step: (s) => process.stdout.write(`step: ${s}\n`), line: (l) => process.stdout.write(`${l}\n`) },
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stdout.write(`error: ${String(e)}\n`);
    process.exit(1);
  },
);
