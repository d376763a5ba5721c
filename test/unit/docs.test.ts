import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { RULES } from '../../src/core/lint/rules';

const root = join(__dirname, '..', '..');
const docsDir = join(root, 'docs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const commands: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);
const settings: string[] = [pkg.contributes.configuration]
  .flat()
  .flatMap((c: { properties: Record<string, unknown> }) => Object.keys(c.properties));
const views: string[] = [
  ...Object.values(pkg.contributes.views as Record<string, Array<{ id: string }>>)
    .flat()
    .map((v) => v.id),
  ...pkg.contributes.viewsContainers.activitybar.map((c: { id: string }) => c.id),
];
const docFiles = readdirSync(docsDir)
  .filter((f) => f.endsWith('.md'))
  .map((f) => join(docsDir, f));
const read = (file: string) => readFileSync(file, 'utf8');

/** A table row that documents an id: its first cell starts with the id in backticks. */
function documentingRows(id: string): string[] {
  return docFiles.flatMap((f) =>
    read(f)
      .split('\n')
      .filter((line) => line.startsWith(`| \`${id}\``))
      .map(() => relative(root, f)),
  );
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replaceAll(' ', '-');
}

describe('docs', () => {
  it('docs/ has a page per area, and the README stays short (under 300 lines) and links to every page', () => {
    const areas = ['stack', 'migrations-and-lint', 'backups', 'restores', 'drills', 'timeline'];
    areas.push('remote-engines-and-repositories', 'settings', 'commands', 'architecture', 'testing', 'performance');
    for (const a of areas) assert.ok(existsSync(join(docsDir, `${a}.md`)), `docs/${a}.md is missing`);
    const readme = read(join(root, 'README.md'));
    assert.ok(readme.split('\n').length < 300, `README.md has ${readme.split('\n').length} lines`);
    for (const f of docFiles) assert.ok(readme.includes(`](docs/${relative(docsDir, f)}`), `README links ${f}`);
  });

  it('every command id and setting in package.json is documented exactly once (one table row in docs/)', () => {
    assert.ok(commands.length > 20 && settings.length > 10, 'package.json was read');
    const wrong = [...commands, ...settings]
      .map((id) => ({ id, rows: documentingRows(id) }))
      .filter((x) => x.rows.length !== 1)
      .map((x) => `${x.id}: ${x.rows.length === 0 ? 'not documented' : `documented in ${x.rows.join(', ')}`}`);
    assert.deepEqual(wrong, []);
  });

  it('no document names a command, setting or view that does not exist', () => {
    const known = new Set([...commands, ...settings, ...views]);
    // `tsdbOps.docker.*`: a group of settings or commands that exists.
    const groups = new Set([...known].map((id) => id.slice(0, id.lastIndexOf('.')) + '.*'));
    const unknown: string[] = [];
    for (const f of [...docFiles, join(root, 'README.md'), join(root, 'CHANGELOG.md')].filter(existsSync))
      for (const m of read(f).matchAll(/tsdbOps\.[A-Za-z0-9_.*]*[A-Za-z0-9_*]/g))
        if (!known.has(m[0]) && !groups.has(m[0])) unknown.push(`${relative(root, f)}: ${m[0]}`);
    assert.deepEqual(unknown, []);
  });

  it('every relative link of the README and docs/ reaches a file, and an anchor reaches a heading', () => {
    const broken: string[] = [];
    for (const f of [join(root, 'README.md'), ...docFiles]) {
      const text = read(f);
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const file = path ? resolve(dirname(f), path) : f;
        if (!existsSync(file)) {
          broken.push(`${relative(root, f)}: ${target}`);
          continue;
        }
        if (anchor && file.endsWith('.md')) {
          const headings = read(file)
            .split('\n')
            .filter((l) => /^#{1,6} /.test(l))
            .map((l) => slug(l.replace(/^#+ /, '')));
          if (!headings.includes(anchor)) broken.push(`${relative(root, f)}: ${target} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('the lint rules table in docs/migrations-and-lint.md lists exactly the rules, with severity and squawk names', () => {
    const rows = read(join(docsDir, 'migrations-and-lint.md'))
      .split('\n')
      .filter((l) => /^\| `[a-z-]+` \| (error|warning|info) \|/.test(l))
      .map((l) => l.split(' | '));
    const documented = rows.map((cells) => {
      const squawk = cells.at(-1)!.replace(/ \|$/, '');
      return {
        id: cells[0]!.slice(3, -1),
        severity: cells[1],
        squawk: squawk === '–' ? [] : squawk.split(', ').map((s) => s.replaceAll('`', '')),
      };
    });
    assert.deepEqual(documented.map((d) => d.id).sort(), RULES.map((r) => r.id).sort());
    for (const rule of RULES) {
      const d = documented.find((x) => x.id === rule.id)!;
      assert.equal(d.severity, rule.severity, `${rule.id}: severity`);
      assert.deepEqual(d.squawk, [...rule.squawk], `${rule.id}: squawk names`);
    }
  });
});
