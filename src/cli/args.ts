/**
 * Subcommands as data: each declares its options once, and the parser (node's own `util.parseArgs`, strict)
 * and its `--help` text both come from that declaration. A bad flag or value is a UsageError (exit 2).
 */
import { parseArgs } from 'node:util';
import { type CliIo, UsageError } from './io';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in the help, e.g. `<dir>`. */
  readonly value?: string;
  readonly help: string;
  /** Allowed values (checked, and listed in the help). */
  readonly choices?: readonly string[];
}

export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments in the usage line, e.g. `[files…]`; undefined: none accepted. */
  readonly positionals?: string;
  /** Paragraphs after the options: what it reads, exit codes. */
  readonly details: string;
  readonly options: O;
}

export type ParsedOptions<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string;
};

/** The engine, for the subcommands that need Docker (status, drill). */
export const ENGINE_OPTIONS = {
  'docker-host': {
    type: 'string',
    value: '<url>',
    help: 'The Docker engine (unix://, tcp://, ssh://user@host). Default: tsdbOps.docker.host / .context, else DOCKER_HOST, else the Docker context.',
  },
} as const satisfies Record<string, OptionSpec>;

/** Options every subcommand takes. */
export const COMMON_OPTIONS = {
  workspace: {
    type: 'string',
    value: '<dir>',
    help: 'The workspace folder: its .vscode/settings.json tsdbOps.* values are read (default: the current folder).',
  },
  infra: {
    type: 'string',
    value: '<dir>',
    help: 'The infra folder (docker-compose.yaml and .env). Default: tsdbOps.infraPath, else the workspace is searched like the extension does.',
  },
  help: { type: 'boolean', short: 'h', help: 'Show this help.' },
} as const satisfies Record<string, OptionSpec>;

export function parseCommand<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): { options: ParsedOptions<O>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(spec.options).map(([k, o]) => [
          k,
          { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
        ]),
      ),
      allowPositionals: spec.positionals !== undefined,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(explainParseError(spec, e));
  }
  const options = parsed.values as Record<string, unknown>;
  if (!options.help)
    for (const [name, o] of Object.entries(spec.options)) {
      const v = options[name];
      if (o.choices && typeof v === 'string' && !o.choices.includes(v))
        throw new UsageError(
          `tsdb-ops ${spec.name}: --${name} ${JSON.stringify(v)} is not one of ${o.choices.join(', ')}; write for example --${name} ${o.choices[0]}.`,
        );
      if (o.type === 'string' && typeof v === 'string' && v.startsWith('--'))
        throw new UsageError(
          `tsdb-ops ${spec.name}: --${name} needs a value, got the option ${v}; write --${name} ${o.value ?? '<value>'}.`,
        );
    }
  return { options: options as ParsedOptions<O>, positionals: parsed.positionals };
}

function explainParseError(spec: CommandSpec, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  const help = `run tsdb-ops ${spec.name} --help for the options`;
  const quoted = /'(-[^']*)'/.exec(msg)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `tsdb-ops ${spec.name}: unknown option ${quoted ?? msg}; ${help}.`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `tsdb-ops ${spec.name} takes no arguments, got ${JSON.stringify(/'([^']*)'/.exec(msg)?.[1] ?? msg)}; ${help}.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = /--([\w-]+)/.exec(msg)?.[1];
      const o = name ? spec.options[name] : undefined;
      return o?.type === 'string'
        ? `tsdb-ops ${spec.name}: --${name} needs a value; write --${name} ${o.value ?? '<value>'}.`
        : `tsdb-ops ${spec.name}: ${quoted ?? name ?? 'an option'} takes no value; ${help}.`;
    }
    default:
      return `tsdb-ops ${spec.name}: ${msg.split('\n')[0]}; ${help}.`;
  }
}

/** The `--help` text of a subcommand, from its declaration. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [
    `Usage: tsdb-ops ${spec.name} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    '',
    spec.summary,
    '',
    'Options:',
  ];
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`;
    const choices = o.choices ? ` One of: ${o.choices.join(', ')}.` : '';
    const many = o.multiple ? ' Repeatable.' : '';
    return [flag, `${o.help}${choices}${many}`] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  for (const [flag, text] of rows) {
    const wrapped = wrap(text, 110 - width);
    lines.push(`  ${flag.padEnd(width)}${flag.length >= width ? `\n  ${' '.repeat(width)}` : ''}${wrapped[0]}`);
    for (const more of wrapped.slice(1)) lines.push(`  ${' '.repeat(width)}${more}`);
  }
  lines.push('', spec.details.trim(), '');
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

export function printHelp(io: CliIo, spec: CommandSpec): number {
  io.out(commandHelp(spec));
  return 0;
}

/** A number of days given to a flag (`--max-age-days 7`, `0.5`); anything else is a UsageError. */
export function days(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n))
    throw new UsageError(`--${flag} ${JSON.stringify(v)} is not a number of days; write e.g. --${flag} 7.`);
  return n;
}
