/** Printing the in-host runner's results. */
import type { RunResults } from '../../vscode/harness.js';

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

export function printResults(r: RunResults): Totals {
  console.log(
    `   VS Code ${r.vscodeVersion ?? '?'} (${r.appName ?? '?'}), extension host run ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  let lastError: string | undefined;
  for (const t of r.tests) {
    const mark = t.state === 'passed' ? '✓' : t.state === 'failed' ? '✗' : '-';
    console.log(`   ${mark} ${t.fullTitle} (${t.durationMs} ms)`);
    for (const line of t.output ?? []) console.log(`       ${line.trimStart()}`);
    if (t.error) {
      if (t.error === lastError) console.log('       (same error as above)');
      else console.log(indent(shortStack(t.error), '       '));
      lastError = t.error;
    }
  }
  for (const line of r.output) console.log(`   ${line.trimStart()}`);
  console.log(`   ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} in this run`);
  return { passed: r.passed, failed: r.failed, skipped: r.skipped };
}

export function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** The message and the frames outside VS Code's own (minified) code, at most 10 lines. */
export function shortStack(error: string): string {
  const lines = error.split('\n');
  const kept = lines.filter(
    (l, i) => i === 0 || !/extensionHostProcess\.js|node:internal|node_modules\/mocha\//.test(l),
  );
  return kept.slice(0, 10).join('\n');
}
