/**
 * The command table (src/ui/commands/table): one declaration per package.json command and the other way
 * round; every schema strict (an unknown key refused by name); the guard derived from `live`; the menus'
 * tree nodes declared; docs/commands.md generated from it; and no handler over 100 lines.
 */
import assert from 'node:assert/strict';
import { isKind } from '../../src/core/errors/error';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { COMMAND } from '../../src/ui/ids';
import { COMMAND_TABLE, changesLive, confirmProblem, parseArgs, specOf } from '../../src/ui/commands/table';
import { renderCommandsTable, withTable } from '../../src/ui/commands/table/docs';

const root = join(__dirname, '..', '..');
interface Manifest {
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
  };
}
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
const PROD = { glob: 'prod*', matched: 'folder /srv/prod' };

describe('command table', () => {
  it('every package.json command has exactly one declaration, and every declaration is a package.json command', () => {
    const declared = COMMAND_TABLE.map((s) => s.id);
    const contributed = manifest.contributes.commands.map((c) => c.command);
    assert.deepEqual(
      declared.filter((id, i) => declared.indexOf(id) !== i),
      [],
      'declared twice',
    );
    assert.deepEqual([...declared].sort(), [...contributed].sort());
    assert.deepEqual([...declared].sort(), Object.values(COMMAND).sort(), 'ids.ts names the same commands');
  });

  it('every schema is strict: an unknown key is refused naming it and what the command accepts', () => {
    for (const spec of COMMAND_TABLE) {
      assert.throws(
        () => parseArgs(spec, { notAKey: 1 }),
        (e: Error) => isKind(e, 'config') && e.message.includes(`${spec.id}: unknown key "notAKey"`),
        spec.id,
      );
    }
    assert.throws(() => parseArgs(specOf(COMMAND.restorePgbackrest), { sett: '20260101-000000F', confirm: true }), {
      message:
        'tsdbOps.restore.pgbackrest: unknown key "sett" (it accepts folder, target, set, time, xid, exclusive, replayWal, repo, confirm).',
    });
  });

  it('a wrong type or value is refused naming the key; the empty object and valid args pass', () => {
    assert.throws(
      () => parseArgs(specOf(COMMAND.stackDown), { profile: 'everything', confirm: true }),
      /profile must be one of 'database', 'full', not "everything"/,
    );
    assert.throws(() => parseArgs(specOf(COMMAND.containerLogs), { tail: -1 }), /tail: /);
    assert.throws(() => parseArgs(specOf(COMMAND.migrationsRunPending), { confirm: 'yes', force: 'no' }), /force: /);
    assert.throws(() => parseArgs(specOf(COMMAND.refresh), 'tsdbOps'), /tsdbOps\.refresh: \(args\): /);
    for (const spec of COMMAND_TABLE)
      if (spec.id !== COMMAND.dockerSwitchContext) assert.deepEqual(parseArgs(spec, {}), {}, spec.id);
    assert.deepEqual(parseArgs(specOf(COMMAND.migrationsRunPending), { target: '3', confirm: true }), {
      target: '3',
      confirm: true,
    });
  });

  it('every live command takes confirm, every other one (the timeline, which forwards it, aside) does not', () => {
    for (const spec of COMMAND_TABLE) {
      const takes = 'confirm' in spec.args.shape;
      if (spec.id === COMMAND.backupTimeline) continue;
      assert.equal(takes, spec.live.changes, spec.id);
    }
    const live = COMMAND_TABLE.filter((s) => s.live.changes).map((s) => s.id);
    for (const id of [
      COMMAND.migrationsRunPending,
      COMMAND.migrationsRevert,
      COMMAND.restorePgbackrest,
      COMMAND.restoreDump,
      COMMAND.restoreDumpAll,
      COMMAND.restoreBaseBackup,
      COMMAND.stackCleanStart,
      COMMAND.stackDown,
    ])
      assert.ok(live.includes(id), `${id} is declared live`);
  });

  it('the derived guard: confirm: true off production; the typed name on production, confirm: true refused', () => {
    const stack = { projectName: 'connect' };
    for (const spec of COMMAND_TABLE.filter((s) => s.live.changes)) {
      assert.match(confirmProblem(spec, undefined, stack)!, /pass \{ confirm: true \}/, spec.id);
      assert.match(confirmProblem(spec, false, stack)!, /got false/, spec.id);
      assert.equal(confirmProblem(spec, true, stack), undefined, spec.id);
      const prod = { ...stack, production: PROD };
      assert.match(confirmProblem(spec, true, prod)!, /production stack .*confirm: true is not enough/, spec.id);
      assert.match(confirmProblem(spec, undefined, prod)!, /production stack/, spec.id);
      if (spec.live.changes && spec.live.scope === 'cluster') {
        assert.equal(confirmProblem(spec, 'connect', prod), undefined, spec.id);
        assert.match(confirmProblem(spec, 'other', prod)!, /needs \{ confirm: "connect" \}/, spec.id);
      } else {
        // The database's exact name is checked by the handler once it knows the database (confirmLive).
        assert.equal(confirmProblem(spec, 'tsdb', prod), undefined, spec.id);
      }
    }
    for (const spec of COMMAND_TABLE.filter((s) => !s.live.changes))
      assert.equal(confirmProblem(spec, undefined, { ...stack, production: PROD }), undefined, spec.id);
  });

  it('Run Pending { confirm: true } on a production stack is refused', () => {
    const spec = specOf(COMMAND.migrationsRunPending);
    const problem = confirmProblem(spec, parseArgs(spec, { confirm: true })['confirm'], {
      projectName: 'connect',
      production: PROD,
    });
    assert.match(problem!, /^tsdbOps\.migrations\.runPending on a production stack .*"<database name>"/);
  });

  it('Stop / Restart Container are live for the database service only', () => {
    for (const id of [COMMAND.containerStop, COMMAND.containerRestart]) {
      const spec = specOf(id);
      assert.equal(changesLive(spec, { service: 'timescaledb' }, 'timescaledb'), true);
      assert.equal(changesLive(spec, { service: 'ofelia' }, 'timescaledb'), false);
    }
    assert.equal(changesLive(specOf(COMMAND.containerStart), { service: 'timescaledb' }, 'timescaledb'), false);
  });

  it('every tree item menu entry names a node kind its command declares', () => {
    const entries = manifest.contributes.menus['view/item/context'] ?? [];
    assert.ok(entries.length > 10);
    for (const m of entries) {
      const spec = specOf(m.command);
      assert.ok(
        spec.nodes.some((n) => new RegExp(`viewItem (==|=~) /?\\^?\\(?([\\w.|\\\\]*\\|)?${n}\\b`).test(m.when ?? '')),
        `${m.command} appears on "${m.when}" but declares nodes [${spec.nodes.join(', ')}]`,
      );
    }
  });

  it('docs/commands.md holds the table generated from the declarations', () => {
    const doc = readFileSync(join(root, 'docs', 'commands.md'), 'utf8');
    assert.ok(doc.includes(renderCommandsTable()), 'regenerate: npx tsx src/ui/commands/table/docs.ts --write');
    assert.equal(withTable(doc), doc);
    for (const spec of COMMAND_TABLE) assert.ok(doc.includes(`| \`${spec.id}\` |`), spec.id);
  });
});

/** The function a declaration names in its file, or the function registered for its id there. */
function handlerSpans(file: string, name: string, id: string): Array<{ what: string; lines: number }> {
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const key = Object.entries(COMMAND).find(([, v]) => v === id)![0];
  const lines = (n: ts.Node) =>
    sf.getLineAndCharacterOfPosition(n.getEnd()).line - sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const found: Array<{ what: string; lines: number }> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) && n.name?.text === name) found.push({ what: `function ${name}`, lines: lines(n) });
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === name && n.initializer)
      found.push({ what: `const ${name}`, lines: lines(n.initializer) });
    if (ts.isCallExpression(n) && n.arguments.some((a) => a.getText(sf) === `COMMAND.${key}`)) {
      const fn = n.arguments.find((a) => ts.isArrowFunction(a) || ts.isFunctionExpression(a));
      if (fn) found.push({ what: `the function registered for COMMAND.${key}`, lines: lines(fn) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

describe('house rule: command handlers', () => {
  it('every declared handler is found in its file and is at most 100 lines', () => {
    const over: string[] = [];
    for (const spec of COMMAND_TABLE) {
      const spans = handlerSpans(spec.handler.file, spec.handler.name, spec.id);
      assert.ok(spans.length > 0, `${spec.id}: no ${spec.handler.name} and no registration in ${spec.handler.file}`);
      for (const s of spans)
        if (s.lines > 100) over.push(`${spec.id}: ${s.what} in ${spec.handler.file} is ${s.lines} lines`);
    }
    assert.deepEqual(over, []);
  });
});
