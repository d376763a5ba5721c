/**
 * `tsdb-ops`: the command line of TimescaleDB Ops (bundled by cli/build.mjs into cli/dist/tsdb-ops.js).
 * Exit codes: 0 ok, 1 findings or a failed check, 2 usage or configuration error (one line on stderr).
 */
import { type CliIo, cliVersion, EXIT_USAGE, UsageError } from './io';

/** The subcommands; each module loads when its command runs (so --help and --version stay quick). */
const COMMANDS: ReadonlyArray<{
  name: string;
  summary: string;
  run: (io: CliIo, argv: readonly string[]) => Promise<number>;
}> = [
  {
    name: 'lint',
    summary: 'Lint sqlx migrations (text, json, sarif, github); --since <ref> for changed applied migrations.',
    run: async (io, argv) => (await import('./lint/command')).runLint(io, argv),
  },
  {
    name: 'status',
    summary: 'Backups, WAL archiving, drills and migrations (text, json, prometheus); --fail-on for scripts.',
    run: async (io, argv) => (await import('./status/command')).runStatus(io, argv),
  },
  {
    name: 'drill',
    summary: 'Restore drill in a scratch container, report in the drills folder; --max-age-days for timers.',
    run: async (io, argv) => (await import('./drill/command')).runDrillCommand(io, argv),
  },
];

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `tsdb-ops ${cliVersion()}: TimescaleDB Ops on the command line.`,
    '',
    'Usage: tsdb-ops <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    "  -h, --help     Show this help (tsdb-ops <command> --help: the command's options).",
    '  -V, --version  Print the version.',
    '',
    'Exit codes: 0 ok; 1 findings or a failed check; 2 usage or configuration error.',
    '',
  ].join('\n');
}

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) throw new UsageError('no command given; run tsdb-ops --help for the commands.');
    if (first === '--help' || first === '-h' || first === 'help') {
      io.out(mainHelp());
      return 0;
    }
    if (first === '--version' || first === '-V') {
      io.out(`${cliVersion()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === first);
    if (!command)
      throw new UsageError(
        first.startsWith('-')
          ? `unknown option ${first}; run tsdb-ops --help (options come after the command: tsdb-ops lint ${first}).`
          : `unknown command "${first}"; the commands are ${COMMANDS.map((c) => c.name).join(', ')} (tsdb-ops --help).`,
      );
    return await command.run(io, rest);
  } catch (e) {
    if (e instanceof UsageError) {
      const line = e.message.replaceAll('\n', ' ');
      io.err(`${line.startsWith('tsdb-ops ') ? line : `tsdb-ops: ${line}`}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

if (require.main === module) {
  const io: CliIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
  };
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      // The command is done: a handle a library left open (an exec stream, a keep-alive socket) must not keep
      // a timer's or a script's run waiting. Output already written to a pipe or file is not lost (synchronous there).
      setTimeout(() => process.exit(code), 1000).unref();
    },
    (e: unknown) => {
      process.stderr.write(`tsdb-ops: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
