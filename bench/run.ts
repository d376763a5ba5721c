/**
 * `npm run bench [-- --size small|full] [--only <figure>[,<figure>…]] [--pairs <n>] [--out <file>]`
 * (`--pairs`: interleaved pairs of the figures that honour it, instead of their size's default)
 *
 * Runs the figures of bench/registry.ts on the real parts of the test bench (the fixture compose stack on
 * the private Docker engine, a throwaway PostgreSQL 15), prints a table and writes it as Markdown
 * (BENCHMARKS.md for a full run of every figure, else test-results/bench-<size>.md). It exits non-zero
 * only when the bench itself breaks (a figure throws), never on a missed target.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { runAllCleanups } from '../test/support/cleanup';
import { prepareCluster, startCluster, type Cluster } from '../test/support/cluster';
import { startStack, type Stack } from '../test/support/stack';
import { fmt, median, spread, type BenchContext, type Row, type Size } from './lib';
import { FIGURES } from './registry';

const ROOT = resolve(__dirname, '..');

interface Args {
  size: Size;
  pairs?: number;
  only?: string[];
  out?: string;
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npm run bench -- [--size small|full] [--only <figure>[,<figure>…]] [--pairs <n>] [--out <file>]`,
  );
  console.error(`figures: ${FIGURES.map((f) => f.id).join(', ')}`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { size: 'full' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (k === '--size') {
      if (v !== 'small' && v !== 'full') usage(`--size must be small or full, not ${JSON.stringify(v)}`);
      a.size = v;
      i++;
    } else if (k === '--only') {
      if (!v) usage('--only needs a figure id');
      a.only = v.split(',').map((s) => s.trim());
      const unknown = a.only.filter((o) => !FIGURES.some((f) => f.id === o));
      if (unknown.length) usage(`--only: no figure ${unknown.join(', ')}`);
      i++;
    } else if (k === '--pairs') {
      if (!v || !/^[1-9]\d*$/.test(v)) usage(`--pairs must be a positive whole number, not ${JSON.stringify(v)}`);
      a.pairs = Number(v);
      i++;
    } else if (k === '--out') {
      if (!v) usage('--out needs a file name');
      a.out = v;
      i++;
    } else usage(`unknown argument ${JSON.stringify(k)}`);
  }
  return a;
}

function version(file: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return r.status === 0 ? r.stdout.trim().split('\n')[0]! : 'unavailable';
}

function machine(dockerHost: string | undefined): Record<string, string> {
  const env = dockerHost ? { DOCKER_HOST: dockerHost } : undefined;
  return {
    cores: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${fmt(totalmem() / 2 ** 30, 1)} GiB`,
    node: process.version,
    docker: dockerHost
      ? `engine ${version('docker', ['version', '--format', '{{.Server.Version}}'], env)}, ` +
        `CLI ${version('docker', ['version', '--format', '{{.Client.Version}}'], env)}`
      : 'not used',
    'docker-compose': version('docker-compose', ['version', '--short']),
    'PostgreSQL (host)': version('/usr/lib/postgresql/15/bin/pg_dump', ['--version']),
    pgBackRest: version('pgbackrest', ['version']),
  };
}

const load = () =>
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')} (${version('uptime', [])})`;

function cells(r: Row): string[] {
  const u = r.unit;
  const ext = r.extension?.length ? `${spread(r.extension, u === 'calls' ? 0 : undefined)} ${u}` : '—';
  const raw = r.raw?.length ? `${spread(r.raw)} ${u}` : '—';
  const ratio = r.ratio?.values.length
    ? r.ratio.kind === 'raw/ext'
      ? `${fmt(median(r.ratio.values), 1)}× faster (${fmt(Math.min(...r.ratio.values), 1)}–${fmt(Math.max(...r.ratio.values), 1)})`
      : `${fmt(median(r.ratio.values), 2)} (${fmt(Math.min(...r.ratio.values), 2)}–${fmt(Math.max(...r.ratio.values), 2)})`
    : '—';
  const met = r.status ?? (r.met === undefined ? '—' : r.met ? 'met' : 'MISSED');
  const runs = r.ratio?.values.length
    ? `${r.ratio.values.length} pairs`
    : r.extension?.length
      ? String(r.extension.length)
      : '—';
  return [r.figure, ext, raw, ratio, r.target, met, runs];
}

const HEAD = ['figure', 'extension: median (min–max)', 'raw / baseline', 'ratio (pairs)', 'target', 'met?', 'runs'];

function printTable(rows: Row[]): void {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.min(70, Math.max(...all.map((c) => c[i]!.length))));
  const line = (c: string[]) =>
    c.map((x, i) => (x.length > widths[i]! ? `${x.slice(0, widths[i]! - 1)}…` : x.padEnd(widths[i]!))).join(' │ ');
  console.log(line(HEAD));
  console.log(widths.map((w) => '─'.repeat(w)).join('─┼─'));
  for (const r of rows) console.log(line(cells(r)));
}

function markdown(args: Args, rows: Row[], info: Record<string, string>, loads: string[], minutes: number): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Written by \`npm run bench -- --size ${args.size}${args.only ? ` --only ${args.only.join(',')}` : ''}` +
      `${args.pairs ? ` --pairs ${args.pairs}` : ''}\` ` +
      `on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${fmt(minutes, 1)} min). ` +
      'Extension and raw runs are interleaved in one process (A B, then B A, …); a ratio is the median of the ' +
      'per-pair ratios, with their min–max. Times of the raw side are the infra guide’s own commands through the docker CLI.',
    '',
  );
  out.push(`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`);
  for (const r of rows) out.push(`| ${cells(r).map(esc).join(' | ')} |`);
  out.push('', '## What each side ran, and why a target is missed', '');
  for (const r of rows) {
    const parts = [
      r.rawLabel ? `raw: ${r.rawLabel}` : undefined,
      r.note,
      r.cause ? `${r.met === false ? '**missed**: ' : ''}${r.cause}` : undefined,
    ].filter(Boolean);
    if (parts.length) out.push(`- **${r.figure}**: ${parts.join('; ')}.`);
  }
  out.push('', '## Machine', '');
  for (const [k, v] of Object.entries(info)) out.push(`- ${k}: ${v}`);
  out.push(`- at start: ${loads[0]}`, `- at end: ${loads[1]}`);
  out.push(
    '- the machine is shared with other work (the load above): absolute times vary with it; the interleaved ratios much less.',
    '',
  );
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const loads = [load()];
  let stack: Promise<Stack> | undefined;
  let cluster: Promise<Cluster> | undefined;
  const ctx: BenchContext = {
    size: args.size,
    pairs: args.pairs,
    stack: () =>
      (stack ??= (async () => {
        console.error('[bench] starting the fixture stack (private dockerd, test image)…');
        return startStack();
      })()),
    cluster: () =>
      (cluster ??= (async () => {
        await prepareCluster();
        return startCluster();
      })()),
    log: (m) => console.error(`[bench] ${m}`),
  };
  const rows: Row[] = [];
  let broken = 0;
  try {
    for (const f of FIGURES) {
      if (args.only && !args.only.includes(f.id)) continue;
      ctx.log(`— ${f.title} (${f.id})`);
      try {
        rows.push(...(await f.run(ctx)));
      } catch (e) {
        broken++;
        console.error(`[bench] ${f.id} broke:`, e);
        rows.push({
          figure: f.title,
          unit: 'ms',
          target: '—',
          status: 'BENCH FAILED',
          cause: String(e instanceof Error ? e.message : e).split('\n')[0],
        });
      }
    }
  } finally {
    loads.push(load());
    const s = stack ? await stack.catch(() => undefined) : undefined;
    const info = machine(s?.docker.host);
    await s?.stop();
    await (cluster ? await cluster.catch(() => undefined) : undefined)?.stop();
    await runAllCleanups();
    console.log('');
    printTable(rows);
    const out =
      args.out ??
      (args.size === 'full' && !args.only ? 'BENCHMARKS.md' : join('test-results', `bench-${args.size}.md`));
    const path = resolve(ROOT, out);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, markdown(args, rows, info, loads, (Date.now() - t0) / 60_000));
    console.log(`\nwritten: ${out} (${fmt((Date.now() - t0) / 60_000, 1)} min)`);
  }
  if (broken) {
    console.error(`[bench] ${broken} figure(s) broke: the bench needs fixing (a missed target never fails it)`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
