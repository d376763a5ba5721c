/**
 * pgBackRest's include folder (`config-include-path`, default /etc/pgbackrest/conf.d): its `*.conf` files are
 * concatenated to the config file, so the site reads them where the tools read them (this machine, a bind mount
 * of the database service, or inside the container) and hands the config text on with them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ToolRuntime } from '../runtime';

/** A config text and where it was read (the site's `conf`). */
export interface ConfText {
  readonly file: string;
  readonly text: string;
  readonly from: string;
}

/** The `*.conf` files of the include folder, in pgBackRest's order (sorted by name), where the tools read them. */
export async function readIncludes(
  where: 'host' | 'container',
  dir: string | undefined,
  /** The folder's path on this machine when the database service bind-mounts it (container). */
  onHost: string | undefined,
  runtime: ToolRuntime | undefined,
): Promise<{ dir: string; files: number; text: string; from: string } | undefined> {
  if (!dir) return undefined;
  const fromFolder = async (folder: string, from: string) => {
    const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => n.endsWith('.conf')).sort();
    const texts = await Promise.all(names.map((n) => readFile(join(folder, n), 'utf8').catch(() => '')));
    return names.length ? { dir, files: names.length, text: texts.join('\n'), from } : undefined;
  };
  if (where === 'host') return fromFolder(dir, 'on this machine');
  if (onHost) return fromFolder(onHost, `from ${onHost} (mounted at ${dir})`);
  if (!runtime) return undefined;
  const r = await runtime
    .run([
      'sh',
      '-c',
      'n=0; for f in "$1"/*.conf; do [ -f "$f" ] && cat -- "$f" && echo && n=$((n+1)); done; echo "#files $n"',
      'includes',
      dir,
    ])
    .catch(() => undefined);
  const lines = r?.exitCode === 0 ? r.stdoutLines : [];
  const files = Number(/^#files (\d+)$/.exec(lines.at(-1) ?? '')?.[1] ?? 0);
  return files ? { dir, files, text: lines.slice(0, -1).join('\n'), from: `in ${runtime.description}` } : undefined;
}

/** pgBackRest concatenates the include folder's files to the config file (or reads them alone when it is absent). */
export function withIncludes(
  conf: ConfText | undefined,
  inc: Awaited<ReturnType<typeof readIncludes>>,
  defaultFile: string,
): ConfText | undefined {
  if (!inc) return conf;
  const also = `${inc.files} file(s) of ${inc.dir} ${inc.from}`;
  // No config file: pgBackRest reads the include files alone (the file stays its default path).
  if (!conf) return { file: defaultFile, text: inc.text, from: `only ${also}` };
  return { file: conf.file, text: `${conf.text}\n${inc.text}`, from: `${conf.from}, with ${also}` };
}
