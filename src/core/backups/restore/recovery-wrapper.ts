/**
 * The `restore_command` of a restore that fetches WAL asynchronously, and why it exists.
 *
 * PostgreSQL reads a `restore_command` that exits below 126 as "no such segment": it ends recovery there and
 * promotes. A repository read error, or an async queue that could not fetch a segment (spool unwritable or
 * full, a worker killed), would end a "latest state" restore early, in silence, with the newer data missing.
 * The wrapper runs the async `archive-get` first; when that does not give the segment it fetches it again the
 * plain way (`--no-archive-async`, up to 3 tries), and only a plain "not in the archive" (pgBackRest's exit 1)
 * ends recovery. Any other failure exits 255, which PostgreSQL treats as fatal: recovery stops and the server
 * does not start, so the restore fails and rolls back instead of promoting early.
 *
 * Speed (issue 28): a segment pgBackRest's async worker has already fetched, checked and decompressed into the
 * queue (`<spool>/archive/<stanza>/in/<segment>`, written there under a temporary name and renamed when whole)
 * is put into place by the wrapper itself: a hard link (`ln`: the spool lives on PGDATA's volume when there is
 * room), without starting a pgBackRest process per segment. The queue keeps its name for it: at the end of the
 * archive PostgreSQL asks twice more for the last segment (after the next one is not found, and when it makes the
 * new timeline's first segment), and those asks are answered from the queue too instead of by a pgBackRest
 * start each (about 0.2 s apiece at the very end of the restore). The queue never grows by it: its files are the
 * worker's window (archive-get-queue-max from the segment asked), the consumed ones included, and pgBackRest's
 * next async call removes what is behind. PostgreSQL only reads a restored segment (it renames it into pg_wal;
 * a restartpoint may recycle it under a future name, written only after promotion, when the queue is gone).
 * Where no link can be made (the spool on another filesystem) the segment is moved (`mv`), as before. That is what pgBackRest's own async
 * archive-get does with a queued segment, minus its process start and config load (about 110 ms a segment on
 * the bench machine, more than the replay of the segment itself). Anything not in the queue (the first segment,
 * one past the queue, a history file, a queue that cannot be read) goes the way described above: pgBackRest's
 * async archive-get, which starts its worker again to fill the queue from that segment on, then the plain way.
 *
 * The script is a constant (written as is into the container): `%f "%p" <log> <queue folder>`, then the
 * pgBackRest options; those before RECOVERY_WRAPPER_ASYNC_MARK are for every call, those after only for the
 * async one. Its log: "queue <file>" for a segment taken from the queue; "async <file> <code>" for a segment
 * the async queue could not give, then how the plain way ended ("plain <file> ok" / "plain <file> <code> try
 * <n>").
 */

export const RECOVERY_WRAPPER_ASYNC_MARK = '--tsdbops-async';

/** A word a restore_command can carry without quoting (PostgreSQL runs it through /bin/sh). */
export function isShellSafe(word: string): boolean {
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(word);
}

export const RECOVERY_WRAPPER_SCRIPT = `#!/bin/sh
# tsdb-ops: restore_command of one restore (removed after it). A segment already in the async queue is linked
# into place (moved when no link can be made); else async archive-get; a segment it could not give is fetched again the plain way; only a plain
# "not in the archive" (exit 1) ends recovery, any other failure exits 255 so PostgreSQL stops instead of
# promoting early.
f=$1; p=$2; log=$3; q=$4; shift 4
plain=''; async=''; mark=''
for a in "$@"; do
  if [ "$a" = ${RECOVERY_WRAPPER_ASYNC_MARK} ]; then mark=1; continue; fi
  if [ -n "$mark" ]; then async="$async $a"; else plain="$plain $a"; fi
done
case "$f" in
  *.history|*.partial|*.backup) async='' ;;
esac
if [ -n "$async" ] && [ -f "$q/$f" ] && { ln -f "$q/$f" "$p" 2>/dev/null || mv -f "$q/$f" "$p" 2>/dev/null; }; then
  echo "queue $f" >> "$log"
  exit 0
fi
if [ -n "$async" ]; then
  pgbackrest $plain $async archive-get "$f" "$p" && exit 0
  echo "async $f $?" >> "$log"
fi
n=0
while :; do
  pgbackrest $plain --no-archive-async archive-get "$f" "$p"
  rc=$?
  if [ $rc -eq 0 ]; then
    [ -n "$async" ] && echo "plain $f ok" >> "$log"
    exit 0
  fi
  [ $rc -eq 1 ] && exit 1
  n=$((n + 1))
  echo "plain $f $rc try $n" >> "$log"
  if [ $n -ge 3 ]; then
    echo "tsdb-ops: WAL segment $f could not be read from the archive (pgBackRest exit $rc, 3 tries): stopping recovery" >&2
    exit 255
  fi
  sleep 2
done
`;

export interface WrapperLog {
  /** Segments taken straight from the async queue (no pgBackRest process started for them), each counted once. */
  readonly fromQueue: number;
  /** Segments the async queue could not give (in order, no repeats). */
  readonly asyncMissed: string[];
  /** Of those, fetched the plain way. */
  readonly fetchedPlain: string[];
  /** Segments that failed the plain way too after every try (recovery stopped there). */
  readonly failed: { readonly file: string; readonly code: number }[];
  /** Plain tries that failed and were retried. */
  readonly retries: number;
}

/** Reads the wrapper's log (its lines, see the module comment). */
export function parseWrapperLog(text: string): WrapperLog {
  const asyncMissed: string[] = [];
  const fetchedPlain: string[] = [];
  const failed: { file: string; code: number }[] = [];
  let retries = 0;
  const fromQueue = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'queue' && w[1]) fromQueue.add(w[1]);
    else if (w[0] === 'async' && w[1] && !asyncMissed.includes(w[1])) asyncMissed.push(w[1]);
    else if (w[0] === 'plain' && w[1] && w[2] === 'ok' && !fetchedPlain.includes(w[1])) fetchedPlain.push(w[1]);
    else if (w[0] === 'plain' && w[1] && w[3] === 'try') {
      retries++;
      if (Number(w[4]) >= 3) failed.push({ file: w[1], code: Number(w[2]) });
    }
  }
  return { fromQueue: fromQueue.size, asyncMissed, fetchedPlain, failed, retries };
}

/**
 * The restore's line about the fall-backs, or undefined when the async queue gave every segment. A segment the
 * plain way did not find either is the end of the archive (every recovery asks for the one after the last), not a
 * miss of the queue.
 */
export function describeWrapperLog(log: WrapperLog): string | undefined {
  const failedFiles = log.failed.map((f) => f.file);
  const missed = log.asyncMissed.filter((f) => log.fetchedPlain.includes(f) || failedFiles.includes(f));
  if (!missed.length && !log.retries) return undefined;
  const parts: string[] = [];
  if (missed.length) {
    parts.push(
      `the async queue could not give ${missed.length} segment${missed.length === 1 ? '' : 's'} ` +
        `(first ${missed[0]}): fetched the plain way${log.fetchedPlain.length < missed.length ? ' where it could be read' : ''}`,
    );
  }
  if (log.retries) parts.push(`${log.retries} plain read${log.retries === 1 ? '' : 's'} failed and were retried`);
  if (log.failed.length) {
    parts.push(
      `${log.failed.map((f) => `${f.file} (exit ${f.code})`).join(', ')} could not be read: recovery stopped there`,
    );
  }
  return `archive-get: ${parts.join('; ')}.`;
}

/** The restore's line about the segments taken straight from the async queue, or undefined when there were none. */
export function describeQueueUse(log: WrapperLog): string | undefined {
  if (!log.fromQueue) return undefined;
  const n = log.fromQueue;
  return `WAL replay: ${n} segment${n === 1 ? '' : 's'} taken straight from the async queue (no pgBackRest start for ${n === 1 ? 'it' : 'them'}).`;
}
