/**
 * The demo stack `npm start` brings up, so the three views show live data on the first run:
 *  - the database image: the real `timescale/timescaledb-ha:pg15-ts2.10` when the engine already has it under
 *    that tag (used as it is: no pull, so offline works), else when Docker can pull it, otherwise the bench's
 *    stand-in (built the way CI builds it: test/support/image.ts);
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

/** Whether the engine already has an image under this name (tag). */
async function hasImage(host: string, image: string): Promise<boolean> {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image], {
    env: { DOCKER_HOST: host },
    reject: false,
    timeoutMs: 30_000,
  });
  return r.exitCode === 0;
}

/** Pulls an image; undefined when it is there, else why not (no registry, offline …). */
async function pull(host: string, image: string, log: (l: string) => void): Promise<string | undefined> {
  log(`pulling ${image} (falls back to the stand-in when no registry answers)…`);
  const r = await run('docker', ['pull', image], { env: { DOCKER_HOST: host }, reject: false, timeoutMs: 600_000 });
  if (r.exitCode === 0) return undefined;
  return (r.stderr || r.stdout).trim().split('\n').pop() ?? `docker pull exited ${r.exitCode}`;
}

/**
 * The database image of the demo stack: the real one when the engine already has it under that tag (no pull, so
 * offline works), else pulled, else the bench's stand-in. `image` is for the tests (default the real image).
 */
export async function chooseDemoImage(
  host: string,
  opts: { log?: (line: string) => void; pull?: boolean; image?: string } = {},
): Promise<{ image: string; note: string }> {
  const log = opts.log ?? (() => undefined);
  const real = opts.image ?? REAL_IMAGE;
  if (await hasImage(host, real)) return { image: real, note: `${real} (already on the engine)` };
  const why = opts.pull === false ? 'not on the engine, not pulled (--no-pull)' : await pull(host, real, log);
  if (!why) return { image: real, note: `${real} (pulled)` };
  return {
    image: TIMESCALEDB_TEST_IMAGE,
    note: `${TIMESCALEDB_TEST_IMAGE}, the bench's stand-in without the TimescaleDB extension (${real}: ${why})`,
  };
}

export async function startDemoStack(opts: { log?: (line: string) => void; pull?: boolean } = {}): Promise<DemoStack> {
  const log = opts.log ?? (() => undefined);
  const docker = await ensureDocker();
  let chosen: { image: string; note: string };
  try {
    chosen = await chooseDemoImage(docker.host, opts);
  } catch (e) {
    await docker.stop();
    throw e;
  }
  const { image, note: imageNote } = chosen;
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
