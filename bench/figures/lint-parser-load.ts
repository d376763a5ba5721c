/**
 * Child process of the lint figure: times `loadParser()` in a process that has never loaded libpg-query (the
 * import of the module and the WebAssembly compile and instantiate, what the first lint of a session pays), then
 * one parse. Prints one JSON line: `{ "loadMs": …, "firstParseMs": … }`.
 */
import { performance } from 'node:perf_hooks';
import { loadParser } from '../../src/core/lint/parser';

void (async () => {
  const t0 = performance.now();
  const parser = await loadParser();
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  const parsed = parser.parse('ALTER TABLE sensors ADD COLUMN note text;');
  const firstParseMs = performance.now() - t1;
  if (!parsed.ok) throw new Error(`the parser refused a valid statement: ${parsed.error.message}`);
  process.stdout.write(`${JSON.stringify({ loadMs, firstParseMs })}\n`);
})();
