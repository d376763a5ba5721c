/**
 * Microsoft's SARIF validator (`sarif-multitool validate`, npm @microsoft/sarif-multitool: the SARIF SDK's own
 * tool, its platform package ships the .NET binary), installed on demand into the cache folder like squawk.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './docker';

export const SARIF_MULTITOOL_VERSION = '5.7.0';

export function ensureSarifMultitool(log: (line: string) => void = console.log): string {
  const dir = join(cacheDir(), `sarif-multitool-${SARIF_MULTITOOL_VERSION}`);
  const bin = join(dir, 'node_modules', '.bin', 'sarif-multitool');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`      installing @microsoft/sarif-multitool@${SARIF_MULTITOOL_VERSION} into ${dir}…`);
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `@microsoft/sarif-multitool@${SARIF_MULTITOOL_VERSION}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 },
  );
  if (!existsSync(bin)) throw new Error(`npm installed @microsoft/sarif-multitool into ${dir} but ${bin} is missing`);
  return bin;
}

export interface SarifProblem {
  readonly level: string;
  readonly rule: string;
  readonly message: string;
}

/**
 * Validates a SARIF file against the 2.1.0 schema and the SDK's rules. The tool exits 0 even when the file is
 * invalid, so its own SARIF output is read: the problems it found, errors first.
 */
export function validateSarif(bin: string, file: string): SarifProblem[] {
  const out = `${file}.validation.sarif`;
  execFileSync(bin, ['validate', file, '--output', out, '--log', 'ForceOverwrite', '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
  const log = JSON.parse(readFileSync(out, 'utf8')) as {
    runs: Array<{
      results?: Array<{ level?: string; ruleId: string; message: { text?: string; arguments?: string[] } }>;
    }>;
  };
  return (log.runs[0]?.results ?? [])
    .map((r) => ({
      level: r.level ?? 'warning',
      rule: r.ruleId,
      message: r.message.text ?? (r.message.arguments ?? []).join(' '),
    }))
    .sort((a, b) => (a.level === 'error' ? -1 : 0) - (b.level === 'error' ? -1 : 0));
}
