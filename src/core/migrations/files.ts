/**
 * sqlx's migration file resolution (see shared/specs/sqlx-migrations.md §3): which files are migrations,
 * their version, description and type, in the order sqlx applies them.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MigrationFilenameError } from '../errors/migrations';
export { MigrationFilenameError };

export type MigrationType = 'simple' | 'up' | 'down';

export interface MigrationFile {
  /** sqlx versions are i64. */
  readonly version: bigint;
  readonly description: string;
  readonly type: MigrationType;
  readonly fileName: string;
  readonly path: string;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Rust's `str::parse::<i64>()`: optional sign, ASCII digits, in range. */
export function parseI64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < I64_MIN || v > I64_MAX ? undefined : v;
}

/**
 * Classifies one file name. Undefined: sqlx ignores the file silently.
 * Throws MigrationFilenameError where sqlx fails.
 */
export function parseMigrationFileName(fileName: string): Omit<MigrationFile, 'path'> | undefined {
  const underscore = fileName.indexOf('_');
  if (underscore < 0) return undefined;
  const prefix = fileName.slice(0, underscore);
  const rest = fileName.slice(underscore + 1);
  if (!rest.endsWith('.sql')) return undefined;
  const version = parseI64(prefix);
  if (version === undefined) throw new MigrationFilenameError(fileName);
  const type: MigrationType = rest.endsWith('.up.sql') ? 'up' : rest.endsWith('.down.sql') ? 'down' : 'simple';
  const suffix = type === 'up' ? '.up.sql' : type === 'down' ? '.down.sql' : '.sql';
  let stem = rest;
  while (stem.endsWith(suffix)) stem = stem.slice(0, -suffix.length); // Rust's trim_end_matches
  return { version, description: stem.replaceAll('_', ' '), type, fileName };
}

export interface ResolvedMigrations {
  /** Sorted by version (stable), as sqlx sorts them. */
  readonly files: MigrationFile[];
  /** Files sqlx would refuse (it stops at the first; we list all). */
  readonly errors: MigrationFilenameError[];
}

/** Reads a migrations folder (not recursive; regular files only, following symlinks, as sqlx does). */
export async function resolveMigrationFiles(dir: string): Promise<ResolvedMigrations> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const files: MigrationFile[] = [];
  const errors: MigrationFilenameError[] = [];
  for (const entry of entries) {
    const name = entry.name;
    let parsed: Omit<MigrationFile, 'path'> | undefined;
    try {
      parsed = parseMigrationFileName(name);
    } catch (e) {
      if (e instanceof MigrationFilenameError) errors.push(e);
      else throw e;
      continue;
    }
    if (!parsed) continue;
    const path = join(dir, name);
    // Regular files only; a symlink counts when its target is one (sqlx uses fs::metadata, which follows links).
    const isFile =
      entry.isFile() ||
      (entry.isSymbolicLink() &&
        (await stat(path).then(
          (s) => s.isFile(),
          () => false,
        )));
    if (isFile) files.push({ ...parsed, path });
  }
  files.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  return { files, errors };
}
