/**
 * The user's SQL checks of a restore drill: `tsdbOps.drill.checks` (files or `folder/*.sql`, relative to
 * the workspace folder), else `<infra>/drill-checks/*.sql` when that folder exists. A named file that is
 * missing is an error naming the setting and the value; an empty or missing folder gives no checks.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { OpsError } from '../errors/error';

export async function drillCheckFiles(
  stack: { readonly infraDir: string; readonly workspaceFolder: string },
  setting: readonly string[],
): Promise<{ name: string; sql: string }[]> {
  const patterns = setting.length ? setting : [join(stack.infraDir, 'drill-checks', '*.sql')];
  const files: string[] = [];
  for (const p0 of patterns) {
    const p = isAbsolute(p0) ? p0 : join(stack.workspaceFolder, p0);
    if (/\*\.sql$/.test(p)) {
      const dir = dirname(p);
      const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.sql')).sort();
      files.push(...names.map((n) => join(dir, n)));
    } else if (existsSync(p)) files.push(p);
    else if (setting.length)
      throw new OpsError(
        'config',
        `tsdbOps.drill.checks: ${p0} does not exist (give SQL files, or a folder pattern such as infra/drill-checks/*.sql).`,
      );
  }
  return Promise.all(files.map(async (f) => ({ name: basename(f), sql: await readFile(f, 'utf8') })));
}
