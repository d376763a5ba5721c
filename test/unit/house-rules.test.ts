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
