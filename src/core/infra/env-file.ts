/**
 * The infra `.env` file: parsed with dotenv (as Compose reads it for interpolation), then checked
 * with a zod schema that knows the infra guide's keys and keeps every other key as it is.
 */
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import type { InfraProblem } from './problems';

const booleanFlag = z
  .string()
  .trim()
  .regex(/^(true|false)$/i, { message: 'must be TRUE or FALSE' })
  .transform((v) => v.toLowerCase() === 'true');

const port = z
  .string()
  .trim()
  .regex(/^\d+$/, { message: 'must be a port number (1-65535)' })
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, { message: 'must be a port number (1-65535)' });

const nonEmpty = z.string().trim().min(1, { message: 'must not be empty' });

/** Docker image reference: [registry/]name[:tag][@digest], lower-case repository. */
const imageRef = z
  .string()
  .trim()
  .regex(/^[a-z0-9]+(?:[._/:-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/, {
    message: 'is not a Docker image reference such as timescale/timescaledb-ha:pg15-ts2.10',
  });

/** The keys the infra guide documents; any other key is kept as a plain string. */
export const infraEnvSchema = z.looseObject({
  ONLY_DATABASE: booleanFlag.optional(),
  PG_DATA: nonEmpty.optional(),
  TIMESCALEDB_IMAGE: imageRef.optional(),
  POSTGRES_USER: nonEmpty.optional(),
  POSTGRES_PASSWORD: z.string().optional(),
  POSTGRES_DB: nonEmpty.optional(),
  POSTGRES_PORT: port.optional(),
  DB_PORT: port.optional(),
  PGPORT: port.optional(),
  COMPOSE_PROJECT_NAME: nonEmpty.optional(),
  COMPOSE_PROFILES: z.string().optional(),
});

const FIXES: Record<string, string> = {
  ONLY_DATABASE:
    'Write ONLY_DATABASE=TRUE to start only the database, or ONLY_DATABASE=FALSE to start every service (profile full).',
  TIMESCALEDB_IMAGE:
    'Use the image the infra guide names, e.g. TIMESCALEDB_IMAGE=timescale/timescaledb-ha:pg15-ts2.10.',
  PG_DATA: 'Set it to the data folder the compose file mounts (the guide does not recommend changing it).',
};

export interface InfraEnv {
  /** Every key of the file, raw strings (what Compose interpolates with). */
  readonly raw: Readonly<Record<string, string>>;
  /** Typed values of the keys the guide documents (undefined when absent or invalid). */
  readonly onlyDatabase?: boolean;
  readonly pgData?: string;
  readonly image?: string;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly port?: number;
  readonly projectName?: string;
  /** 1-based line of each key in the file, for diagnostics. */
  readonly lines: Readonly<Record<string, number>>;
}

/** Lines of `KEY=` definitions (the last one wins, as in dotenv). */
function keyLines(text: string): Record<string, number> {
  const lines: Record<string, number> = {};
  text.split(/\r?\n/).forEach((l, i) => {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*[=:]/.exec(l);
    if (m?.[1]) lines[m[1]] = i + 1;
  });
  return lines;
}

/** Parses the text of an infra `.env`; invalid values of known keys become problems, never exceptions. */
export function parseInfraEnv(text: string, file: string): { env: InfraEnv; problems: InfraProblem[] } {
  const raw = parseDotenv(text);
  const lines = keyLines(text);
  const problems: InfraProblem[] = [];
  const result = infraEnvSchema.safeParse(raw);
  let typed: z.infer<typeof infraEnvSchema> = {};
  if (result.success) {
    typed = result.data;
  } else {
    // Keep the valid keys: re-parse without the invalid ones.
    const bad = new Set<string>();
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '');
      bad.add(key);
      problems.push({
        file,
        line: lines[key],
        severity: 'error',
        message: `${key}=${JSON.stringify(raw[key] ?? '')} ${issue.message}.`,
        fix: FIXES[key] ?? `Correct ${key} in ${file}.`,
      });
    }
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !bad.has(k)));
    typed = infraEnvSchema.parse(rest);
  }
  return {
    env: {
      raw,
      lines,
      onlyDatabase: typed.ONLY_DATABASE,
      pgData: typed.PG_DATA,
      image: typed.TIMESCALEDB_IMAGE,
      user: typed.POSTGRES_USER,
      password: typed.POSTGRES_PASSWORD,
      database: typed.POSTGRES_DB,
      port: typed.POSTGRES_PORT ?? typed.DB_PORT ?? typed.PGPORT,
      projectName: typed.COMPOSE_PROJECT_NAME,
    },
    problems,
  };
}
