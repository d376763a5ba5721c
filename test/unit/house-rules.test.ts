import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('house rules', () => {
  it('no file under src/core imports vscode', () => {
    const files = tsFiles(join(root, 'src', 'core'));
    assert.ok(files.length > 5, 'src/core has files');
    const offenders = files.filter((f) =>
      /(?:from\s+|require\(\s*|import\(\s*)['"]vscode['"]/.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      offenders.map((f) => relative(root, f)),
      [],
    );
  });

  it('no source file starts a process through a shell', () => {
    const offenders = tsFiles(join(root, 'src')).filter((f) =>
      /shell:\s*true|execaCommand|execSync\(/.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      offenders.map((f) => relative(root, f)),
      [],
    );
  });

  it('no file under src/ui builds a runtime, a connection or a pgBackRest config path (the stack context decides)', () => {
    // Each of these decides a fact about a stack; core/stack/context decides it once (docs/architecture.md).
    const forbidden: [string, RegExp][] = [
      ['new ContainerRuntime(', /new\s+ContainerRuntime\s*\(/],
      ['new HostRuntime(', /new\s+HostRuntime\s*\(/],
      ['resolveConnection(', /\bresolveConnection\s*\(/],
      ['stackCredentials(', /\bstackCredentials\s*\(/],
      ['readSite(', /\breadSite\s*\(/],
      ['readRestoreSetup(', /\breadRestoreSetup\s*\(/],
      ['stackBackupTargets(', /\bstackBackupTargets\s*\(/],
      ['hostRunAs(', /\bhostRunAs\s*\(/],
      ['PGBACKREST_CONFIG', /PGBACKREST_CONFIG/],
      ['/etc/pgbackrest', /\/etc\/pgbackrest/],
      ['a POSTGRES_* variable read', /['"]POSTGRES_(USER|DB|PASSWORD|PORT)['"]\s*\]/],
      ['stack.env.user / database (the context names the user and database)', /\.env\.(user|database)\b/],
      ['Config.User', /Config\.User/],
    ];
    const files = tsFiles(join(root, 'src', 'ui'));
    assert.ok(files.length > 20, 'src/ui has files');
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const [name, re] of forbidden) if (re.test(text)) offenders.push(`${relative(root, f)}: ${name}`);
    }
    assert.deepEqual(offenders, []);
  });
});

/** Issue 26's rules: one errors module, one cancel, rooms a newcomer can read. */
describe('house rules: one errors module, rooms a newcomer can read', () => {
  const src = tsFiles(join(root, 'src')).map((f) => relative(root, f));

  it('every error class is made in src/core/errors (`extends Error`, `OpsError`, `CancelledError` or any …Error anywhere else, also as an expression)', () => {
    const defines = (f: string) =>
      /\bclass\b[^{]*\bextends\s+(\w*Error|\w*Exception)\b/.test(readFileSync(join(root, f), 'utf8'));
    const offenders = src.filter((f) => !f.startsWith('src/core/errors/') && defines(f));
    assert.deepEqual(offenders, [], 'error classes outside src/core/errors');
    assert.ok(src.filter((f) => f.startsWith('src/core/errors/')).some(defines), 'the errors module defines them');
  });

  it('the error classes are declared in one file of the errors module (the others make OpsErrors told apart by kind)', () => {
    const declares = (f: string) => /\bclass\s+\w*(Error|ByUser)\b/.test(readFileSync(join(root, f), 'utf8'));
    assert.deepEqual(
      src.filter((f) => f.startsWith('src/core/errors/') && declares(f)),
      ['src/core/errors/error.ts'],
    );
  });

  it('no error or cancel is matched by its name', () => {
    const offenders = src.filter((f) =>
      /\.name\s*===?\s*['"]\w*(Error|Exception)['"]|['"](AbortError|\w+Error)['"]\s*===?\s*\w+\.name/.test(
        readFileSync(join(root, f), 'utf8'),
      ),
    );
    assert.deepEqual(offenders, []);
  });

  it('every error thrown or rejected in src is made by the errors module: no `new Error(`, `Error(` or `new TypeError(` … outside src/core/errors', () => {
    // Comments and string contents are blanked first (template `${…}` code is kept), so a message that names
    // Error( or a comment about it is not counted.
    const offenders = src
      .filter((f) => !f.startsWith('src/core/errors/'))
      .flatMap((f) => builtInErrors(readFileSync(join(root, f), 'utf8')).map((line) => `${f}:${line}`));
    assert.deepEqual(offenders, [], 'use new OpsError(kind, message, { cause }) or a factory of src/core/errors');
    assert.ok(src.length > 50, 'src has files');
  });

  it('the built-in error check sees through comments and strings (and would catch each form)', () => {
    const bad = [
      "throw new Error('x');",
      'reject(new Error(`x ${y}`));',
      'throw Error("x");',
      'throw new TypeError(x);',
      'const e = new RangeError(x);',
      'throw new SyntaxError(x);',
      'throw `${f(new Error("in a template expression"))}`;',
      'const r = /["\']/; throw new Error(r.source);',
    ];
    for (const b of bad) assert.deepEqual(builtInErrors(`const a = 1;\n${b}\n`), [2], b);
    const fine = [
      "throw new OpsError('config', 'new Error(x) in a message');",
      '// throw new Error(x) in a comment',
      '/* new TypeError( */ const e = x instanceof Error ? x : undefined;',
      'class A extends Error {}',
      'function f(): Error { return g(); }',
      'const m = `Error(${x})`;',
      'throw new UsageError(m); throw new ToolFailedError(m); const t = e.newError(x);',
    ];
    for (const g of fine) assert.deepEqual(builtInErrors(g), [], g);
  });

  it('every abort gives its reason (a CancelledError, or the reason it forwards): no bare `.abort()` in src', () => {
    // A bare abort() makes a DOMException "This operation was aborted", which isCancelled does not know.
    const offenders = src.filter((f) => /\.abort\(\s*\)/.test(readFileSync(join(root, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('no file in src is over 450 lines', () => {
    const lines = (f: string) => readFileSync(join(root, f), 'utf8').split('\n').length;
    const over = src.filter((f) => lines(f) > 450);
    assert.deepEqual(over, [], 'files over 450 lines: split them by phase or part');
  });
});

const BUILT_IN_ERRORS = 'Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError';
const BUILT_IN_ERROR_CALL = new RegExp(`(?<![\\w$.])(?:new\\s+)?(?:${BUILT_IN_ERRORS})\\s*\\(`, 'g');

/** The 1-based lines of `text` that make a built-in error (`new Error(`, `Error(`, `new TypeError(` …), outside comments and strings. */
function builtInErrors(text: string): number[] {
  const code = codeOnly(text);
  const lines = new Set<number>();
  for (const m of code.matchAll(BUILT_IN_ERROR_CALL)) lines.add(code.slice(0, m.index).split('\n').length);
  return [...lines];
}

/**
 * The text with comments, string and template contents and regex literals blanked (newlines kept, so lines still
 * count); the code inside a template's `${…}` is kept. A scanner, not a parser: good enough for this repository's style.
 */
function codeOnly(text: string): string {
  let out = '';
  let i = 0;
  const braces: number[] = []; // for each open `${`, the brace depth at which its template resumes
  let depth = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const prevCode = () => out.replace(/\s+$/, '').slice(-1);
  const skipString = (quote: string): void => {
    // i is just after the opening quote; stops after the closing one (or at `${` of a template)
    let j = i;
    while (j < text.length) {
      const c = text[j]!;
      if (c === '\\') j += 2;
      else if (c === quote) {
        j++;
        break;
      } else if (quote === '`' && c === '$' && text[j + 1] === '{') {
        out += blank(text.slice(i, j)) + '${';
        i = j + 2;
        braces.push(depth);
        depth++;
        return;
      } else if (quote !== '`' && c === '\n') break;
      else j++;
    }
    out += blank(text.slice(i, j));
    i = j;
  };
  while (i < text.length) {
    const c = text[i]!;
    const n = text[i + 1];
    if (c === '/' && n === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === '/' && n === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === '/' && (prevCode() === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prevCode()))) {
      // a regex literal
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== '\n') {
        const d = text[j]!;
        if (d === '\\') j++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      out += ' ' + blank(text.slice(i + 1, j)) + ' ';
      i = j + 1;
    } else if (c === "'" || c === '"' || c === '`') {
      out += ' ';
      i++;
      skipString(c);
    } else if (c === '{') {
      depth++;
      out += c;
      i++;
    } else if (c === '}') {
      depth--;
      out += c;
      i++;
      if (braces.length && braces[braces.length - 1] === depth) {
        braces.pop();
        skipString('`');
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
