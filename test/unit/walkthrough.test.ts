/**
 * The first-run walkthrough (package.json `contributes.walkthroughs`): every step completes on a real event (a context
 * key the extension sets when the thing happened, or the command that does it), links to a command the extension
 * has, and has its small Markdown media; the keys the extension sets are the ones the steps wait for.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND, CONTEXT_KEY } from '../../src/ui/ids';

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string; image?: string };
  completionEvents?: string[];
}
const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { walkthroughs: { id: string; title: string; steps: Step[] }[] };
};
const walkthrough = pkg.contributes.walkthroughs.find((w) => w.id === 'firstRun')!;
const commands = new Set<string>(Object.values(COMMAND));
const keys = new Set<string>(Object.values(CONTEXT_KEY));

describe('first-run walkthrough', () => {
  it('has the six steps in order, from the infra folder to the nightly drill', () => {
    assert.deepEqual(
      walkthrough.steps.map((s) => s.id),
      ['infra', 'start', 'migrations', 'backup', 'drill', 'nightly'],
    );
  });

  it('every step completes on a real event: a context key the extension sets, or the command that does it', () => {
    for (const s of walkthrough.steps) {
      assert.ok(s.completionEvents?.length, `${s.id}: no completionEvents (it would complete on a click)`);
      for (const e of s.completionEvents!) {
        const [kind, what] = [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)];
        if (kind === 'onContext')
          for (const k of what.match(/\btsdbOps\.[\w.]+/g) ?? []) assert.ok(keys.has(k), `${s.id}: ${k} is never set`);
        else if (kind === 'onCommand') assert.ok(commands.has(what), `${s.id}: ${what} is not a command`);
        else assert.fail(`${s.id}: ${e} is not a real event (onContext or onCommand)`);
      }
    }
    // The keys set for the walkthrough are each waited for by a step.
    const waited = walkthrough.steps.flatMap((s) => s.completionEvents ?? []).join(' ');
    for (const k of Object.values(CONTEXT_KEY).filter((k) => k.startsWith('tsdbOps.walkthrough.')))
      assert.ok(waited.includes(k), `${k} is set but no step waits for it`);
  });

  it('every step links its command, and the nightly one completes on the copy command it links', () => {
    for (const s of walkthrough.steps) {
      const links = [...s.description.matchAll(/\]\(command:([\w.]+)/g)].map((m) => m[1]!);
      assert.ok(links.length >= 1, `${s.id}: no command link`);
      for (const c of links) assert.ok(commands.has(c), `${s.id}: links ${c}, not a command`);
    }
    const nightly = walkthrough.steps.find((s) => s.id === 'nightly')!;
    assert.deepEqual(nightly.completionEvents, [`onCommand:${COMMAND.backupCopyNightlyDrill}`]);
    assert.match(nightly.description, /"tsdb-ops drill --max-age-days 1"/);
    assert.match(
      nightly.description,
      new RegExp(`\\(command:${COMMAND.backupCopyNightlyDrill.replace(/\./g, '\\.')}\\)`),
    );
  });

  it('every step has its Markdown media, small, in media/walkthrough (packaged with media/)', () => {
    for (const s of walkthrough.steps) {
      const file = s.media.markdown ?? '';
      assert.ok(file.startsWith('media/walkthrough/'), `${s.id}: media ${JSON.stringify(s.media)}`);
      assert.ok(existsSync(join(root, file)), `${file} is missing`);
      assert.ok(statSync(join(root, file)).size < 2048, `${file} is over 2 KB`);
    }
  });
});
