/**
 * The names package.json and the code share (src/ui/ids.ts): every command the manifest declares is one the
 * code knows and the other way round; every context key and view a `when` clause tests is one the code sets;
 * every `viewItem` a menu clause names (each alternative of it) is a context value some tree item carries.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND, CONTEXT_KEY, ITEM, VIEW } from '../../src/ui/ids';
import { BACKUP_TYPES } from '../../src/core/backups/pgbackrest';
import type { ContainerState } from '../../src/core/docker/model';
import type { MigrationState } from '../../src/core/migrations/status';

interface Manifest {
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
  };
}
const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;
const whens = Object.values(manifest.contributes.menus)
  .flat()
  .map((m) => m.when)
  .filter((w): w is string => !!w);

const CONTAINER_STATES: ContainerState[] = [
  'running',
  'restarting',
  'paused',
  'exited',
  'created',
  'dead',
  'removing',
  'notCreated',
];
const MIGRATION_STATES: MigrationState[] = ['applied', 'pending', 'outOfOrder', 'modified', 'failed', 'missing'];

/** Every context value a tree item can carry. */
function producedItems(): string[] {
  const out: string[] = [];
  for (const v of Object.values(ITEM)) if (typeof v === 'string') out.push(v);
  for (const s of CONTAINER_STATES) out.push(ITEM.container(s, false), ITEM.container(s, true));
  for (const l of ['Problems', 'Pending', 'Applied']) out.push(ITEM.migrationGroup(l));
  for (const s of MIGRATION_STATES) out.push(ITEM.migration(s, false), ITEM.migration(s, true));
  out.push(ITEM.stanzaError(), ITEM.stanzaError('stanzaCreate'));
  for (const t of BACKUP_TYPES) out.push(ITEM.backupSet(t));
  for (const k of ['pg_dump', 'pg_dumpall', 'pg_basebackup', 'other'] as const) out.push(ITEM.manualBackup(k));
  for (const s of ['ok', 'stale', 'unknown'] as const) out.push(ITEM.schedule(s));
  for (const c of ['config-missing', 'stanza-mismatch', 'job-runs-as-root']) out.push(ITEM.pgbackrestEnvWarning(c));
  out.push(ITEM.repository(false), ITEM.repository(true));
  return out;
}

/** `viewItem == x` or `viewItem =~ /re/`, with a single `(a|b)` group expanded into one pattern an alternative. */
function viewItemPatterns(when: string): Array<{ text: string; test: (v: string) => boolean }> {
  const out: Array<{ text: string; test: (v: string) => boolean }> = [];
  for (const m of when.matchAll(/viewItem == ([\w.]+)/g)) out.push({ text: m[1]!, test: (v) => v === m[1] });
  for (const m of when.matchAll(/viewItem =~ \/(.+?)\/(?=\s|$)/g)) {
    const re = m[1]!;
    const g = /\(([^()?]+)\)/.exec(re);
    const alternatives = g ? g[1]!.split('|').map((a) => re.replace(g[0], a)) : [re];
    for (const a of alternatives) out.push({ text: a, test: (v) => new RegExp(a).test(v) });
  }
  return out;
}

describe('names shared with package.json (src/ui/ids.ts)', () => {
  it('the manifest declares exactly the commands the code registers', () => {
    const declared = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(declared, Object.values(COMMAND).sort());
  });

  it('every context key and view in a when clause is one the code sets or creates', () => {
    const known = new Set<string>([...Object.values(CONTEXT_KEY), ...Object.values(VIEW)]);
    for (const w of whens) {
      for (const m of w.matchAll(/\btsdbOps\.[\w.]+/g)) assert.ok(known.has(m[0]), `${m[0]} in "${w}"`);
    }
  });

  it('every viewItem a menu clause names (each alternative) is a context value a tree item carries', () => {
    const items = producedItems();
    for (const w of whens) {
      for (const p of viewItemPatterns(w)) {
        assert.ok(
          items.some((v) => p.test(v)),
          `viewItem ${p.text} in "${w}" matches no tree item: remove it from package.json, or give an item that value`,
        );
      }
    }
  });
});
