/**
 * docs/commands.md's table, rendered from the declarations (a unit test checks the file matches; regenerate
 * with `npx tsx src/ui/commands/table/docs.ts --write`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { COMMAND_TABLE, acceptedKeys, type CommandSpec } from './index';
import { OpsError } from '../../../core/errors/error';

export const BEGIN = '<!-- commands table: generated from src/ui/commands/table, do not edit by hand -->';
export const END = '<!-- end of commands table -->';

/** A field's type in a few words (`string`, `true | string`, `"database" | "full"`, …). */
function typeOf(schema: z.ZodType): string {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
      return typeOf(def['innerType'] as z.ZodType);
    case 'union':
      return (def['options'] as z.ZodType[]).map(typeOf).join(' \\| ');
    case 'enum':
      return Object.values(def['entries'] as Record<string, string>)
        .map((v) => `"${v}"`)
        .join(' \\| ');
    case 'literal':
      return (def['values'] as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
    case 'array':
      return `${typeOf(def['element'] as z.ZodType)}[]`;
    case 'unknown':
      return 'object';
    default:
      return def.type === 'int' || (def.type === 'number' && (def as { format?: string }).format)
        ? 'integer'
        : def.type;
  }
}

function required(schema: z.ZodType): boolean {
  return !schema.safeParse(undefined).success;
}

function argsCell(spec: CommandSpec): string {
  const keys = acceptedKeys(spec);
  if (!keys.length) return 'none';
  return keys
    .map((k) => {
      const f = spec.args.shape[k] as z.ZodType;
      return `\`${k}${required(f) ? '' : '?'}\`: ${typeOf(f)}`;
    })
    .join('<br>');
}

function liveCell(spec: CommandSpec): string {
  const l = spec.live;
  if (!l.changes) return `no: ${l.why}`;
  const name = l.scope === 'database' ? 'the database name' : 'the compose project name';
  return `**yes** (${l.when ? `${l.when.text}; ` : ''}${l.why}). Args: \`confirm: true\`; production: \`confirm\` = ${name}`;
}

export function renderCommandsTable(table: readonly CommandSpec[] = COMMAND_TABLE): string {
  const rows = table.map(
    (s) =>
      `| \`${s.id}\` | ${argsCell(s)} | ${s.mode === 'palette' ? 'palette / view only' : 'interactive or args'} | ` +
      `${s.nodes.length ? s.nodes.map((n) => `\`${n}\``).join(', ') : '–'} | ${liveCell(s)} | ${s.result} |`,
  );
  return [
    BEGIN,
    '',
    '| Command | Args (all optional unless marked) | Mode | Tree nodes | Changes the live database or the stack? | Result with args |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    END,
  ].join('\n');
}

/** The doc with its generated part replaced. */
export function withTable(doc: string): string {
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  if (i < 0 || j < 0) throw new OpsError('config', `docs/commands.md lacks the markers ${BEGIN} … ${END}.`);
  return doc.slice(0, i) + renderCommandsTable() + doc.slice(j + END.length);
}

if (process.argv.includes('--write')) {
  const file = join(__dirname, '..', '..', '..', '..', 'docs', 'commands.md');
  writeFileSync(file, withTable(readFileSync(file, 'utf8')));
}
