/**
 * Memory for WAL replay in a drill's scratch server (issue 28). Replay is one process applying WAL; with the
 * default 128 MB of shared_buffers a day of inserts and updates into a table with a second index evicts and
 * re-reads pages all the time. Measured on the bench machine (1.46 GB of such WAL replayed from a local pg_wal,
 * interleaved 128MB, 2GB, 2GB, 128MB at the same load): 60 and 50 s against 41 and 38 s.
 *
 * The scratch server is thrown away after the drill, so its shared_buffers can be raised for the replay without
 * touching anything the user runs: up to an eighth of the memory available to the scratch container (the smaller
 * of MemAvailable and its cgroup limit), at most 2 GB, never below what the restored config sets (the user's own
 * value wins when it is larger). A live restore keeps the user's value: raising it there would need a restart
 * of the restored server before the restore is done.
 */
const MiB = 1024 * 1024;
const MAX = 2048 * MiB;
const MIN_WORTH = 256 * MiB;

/** The probe run in the scratch container: the restored config's shared_buffers, then the memory it may use. */
export const REPLAY_MEMORY_PROBE =
  'echo "shared_buffers $(postgres -D "$1" -C shared_buffers 2>/dev/null)"; ' +
  'echo "available $(sed -n "s/^MemAvailable: *\\([0-9]*\\) kB/\\1/p" /proc/meminfo)"; ' +
  'echo "limit $(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"';

/** `128MB`, `1GB`, `16384` (8 kB pages), `8kB` → bytes. */
export function parsePgMemory(v: string): number | undefined {
  const m = /^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2];
  return unit === 'kB'
    ? n * 1024
    : unit === 'MB'
      ? n * MiB
      : unit === 'GB'
        ? n * 1024 * MiB
        : unit === 'TB'
          ? n * 1024 * 1024 * MiB
          : n * 8192;
}

export interface ReplayMemory {
  /** The value to pass (`-c shared_buffers=<this>`), or undefined: keep the config's. */
  readonly sharedBuffers?: string;
  /** One line for the output: what was chosen and why. */
  readonly said: string;
}

export function decideReplayMemory(probe: readonly string[]): ReplayMemory {
  const field = (k: string) =>
    probe
      .find((l) => l.startsWith(`${k} `))
      ?.slice(k.length + 1)
      .trim() ?? '';
  const configured = parsePgMemory(field('shared_buffers'));
  const availableKb = Number(field('available'));
  const limit = Number(field('limit')); // 'max' (no limit) reads as NaN
  const usable = Math.min(
    Number.isFinite(availableKb) && availableKb > 0 ? availableKb * 1024 : Infinity,
    Number.isFinite(limit) && limit > 0 ? limit : Infinity,
  );
  if (configured === undefined || !Number.isFinite(usable))
    return { said: 'replay memory: the restored config’s shared_buffers kept (the memory could not be read)' };
  const want = Math.min(MAX, Math.floor(usable / 8 / MiB) * MiB);
  const mb = (n: number) => `${Math.round(n / MiB)} MB`;
  if (want < MIN_WORTH || want <= configured)
    return {
      said: `replay memory: shared_buffers ${mb(configured)} kept (the restored config’s; ${mb(usable)} available)`,
    };
  return {
    sharedBuffers: `${Math.round(want / MiB)}MB`,
    said:
      `replay memory: shared_buffers ${mb(want)} for the scratch server's replay (the restored config says ` +
      `${mb(configured)}; ${mb(usable)} available to the container; the scratch copy is thrown away after the drill)`,
  };
}
