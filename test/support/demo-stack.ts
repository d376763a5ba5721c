/**
 * The demo stack `npm start` brings up, so the three views show live data on the first run:
 *  - the database image: the real `timescale/timescaledb-ha:pg15-ts2.10` when Docker can pull it,
 *    otherwise the bench's stand-in (built the way CI builds it: test/support/image.ts);
 *  - a copy of the demo workspace (test/fixtures/workspace) in a temp dir with its own compose project
 *    and a free port, started the guide's way (scripts/clean_start.sh: folders, `up -d`, stanza-create);
 *  - the sample migrations left pending; one pgBackRest full backup taken.
 * `stop()` is `docker compose down -v` and removes the copy (also on Ctrl+C, through the bench's cleanup).
 */
import { ensureDocker } from './docker';
import { run } from './proc';
import { startStack, type Stack } from './stack';
import { TIMESCALEDB_TEST_IMAGE } from './image';

export const REAL_IMAGE = 'timescale/timescaledb-ha:pg15-ts2.10';

export interface DemoStack {
  readonly stack: Stack;
  /** The image the database runs: the real one, or the stand-in (with why). */
  readonly image: string;
  readonly imageNote: string;
  /** The label of the full backup taken. */
  readonly backupLabel: string;
}

/** Pulls the real image; undefined when it is there, else why not (no registry, offline …). */
async function pullReal(host: string, log: (l: string) => void): Promise<string | undefined> {
  log(`pulling ${REAL_IMAGE} (falls back to the stand-in when no registry answers)…`);
  const r = await run('docker', ['pull', REAL_IMAGE], {
    env: { DOCKER_HOST: host },
    reject: false,
    timeoutMs: 600_000,
  });
  if (r.exitCode === 0) return undefined;
  return (r.stderr || r.stdout).trim().split('\n').pop() ?? `docker pull exited ${r.exitCode}`;
}

export async function startDemoStack(opts: { log?: (line: string) => void; pull?: boolean } = {}): Promise<DemoStack> {
  const log = opts.log ?? (() => undefined);
  const docker = await ensureDocker();
  let image = REAL_IMAGE;
  let imageNote = `${REAL_IMAGE} (pulled)`;
  const why = opts.pull === false ? 'not pulled (--no-pull)' : await pullReal(docker.host, log);
  if (why) {
    image = TIMESCALEDB_TEST_IMAGE;
    imageNote = `${TIMESCALEDB_TEST_IMAGE}, the bench's stand-in without the TimescaleDB extension (${REAL_IMAGE}: ${why})`;
  }
  log(`starting the demo stack on ${image}…`);
  const stack = await startStack({ workspace: true, env: { TIMESCALEDB_IMAGE: image }, timeoutMs: 180_000 }).finally(
    () => docker.stop(), // the stack holds its own handle on the engine
  );
  try {
    log('taking a pgBackRest full backup…');
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', '--log-level-console=warn', 'backup']);
    const info = await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--output=json', 'info']);
    const sets = (JSON.parse(info.stdout) as { backup: { label: string }[] }[])[0]?.backup ?? [];
    const backupLabel = sets[sets.length - 1]?.label;
    if (!backupLabel) throw new Error(`pgbackrest info lists no backup after the full backup: ${info.stdout}`);
    return { stack, image, imageNote, backupLabel };
  } catch (e) {
    await stack.stop();
    throw e;
  }
}
