/**
 * The production guard's rules (core/stack/production): which stacks are production, and what
 * `confirm` an automated call must pass on them (the typed name; `true` refused with what to pass).
 */
import { strict as assert } from 'node:assert';
import { checkConfirmArg, globToRegExp, productionMatch, typedConfirmation } from '../../src/core/stack/production';

describe('production guard', () => {
  const staging = { workspaceFolder: '/srv/staging', infraDir: '/srv/staging/connect/infra', context: 'staging-ssh' };
  const prod = { workspaceFolder: '/srv/prod-eu', infraDir: '/srv/prod-eu/connect/infra', context: 'default' };

  it('globs match the folder path, the folder name, the infra folder or the Docker context', () => {
    assert.equal(productionMatch(['prod-*'], prod)?.matched, 'folder /srv/prod-eu');
    assert.equal(productionMatch(['**/prod*'], prod)?.glob, '**/prod*');
    assert.equal(productionMatch(['/srv/*/connect/infra'], staging)?.matched, 'folder /srv/staging/connect/infra');
    assert.equal(productionMatch(['*-ssh'], staging)?.matched, 'Docker context staging-ssh');
    assert.equal(productionMatch(['prod-*', ''], staging), undefined);
    assert.equal(productionMatch(undefined, prod), undefined);
    assert.ok(!globToRegExp('/srv/*').test('/srv/a/b'), '* stays within one path segment');
  });

  it('a production stack needs the typed name: confirm: true is refused with what to pass', () => {
    const production = productionMatch(['prod-*'], prod);
    const db = { command: 'tsdbOps.restore.dump', scope: 'database' as const, name: 'connect_db', production };
    assert.throws(
      () => checkConfirmArg(true, db),
      (e: Error) => {
        assert.ok(e.message.startsWith('tsdbOps.restore.dump on a production stack'), e.message);
        assert.ok(e.message.includes('(tsdbOps.stacks.production "prod-*" matched folder /srv/prod-eu)'), e.message);
        assert.ok(e.message.includes('is not confirmed by confirm: true: pass { confirm: "connect_db" }'), e.message);
        assert.ok(e.message.includes('(the database name "connect_db")'), e.message);
        return true;
      },
    );
    assert.throws(() => checkConfirmArg('connect', db), /needs \{ confirm: "connect_db" \}.*got "connect"/);
    assert.doesNotThrow(() => checkConfirmArg('connect_db', db));
    const cluster = { command: 'tsdbOps.stack.down', scope: 'cluster' as const, name: 'infra', production };
    assert.throws(() => checkConfirmArg(true, cluster), /the stack \(compose project\) name "infra"/);
    assert.doesNotThrow(() => checkConfirmArg('infra', cluster));
  });

  it('other stacks keep confirm: true', () => {
    const g = { command: 'tsdbOps.stack.down', scope: 'cluster' as const, name: 'infra' };
    assert.doesNotThrow(() => checkConfirmArg(true, g));
    assert.throws(() => checkConfirmArg(undefined, g), /pass \{ confirm: true \}/);
  });

  it('the typed confirmation accepts only the exact name', () => {
    const t = typedConfirmation({
      command: 'x',
      scope: 'cluster',
      name: 'infra',
      production: { glob: 'p', matched: 'folder /p' },
    });
    assert.match(t.prompt, /type the stack \(compose project\) name "infra"/);
    assert.equal(t.validate('infra'), undefined);
    assert.ok(t.validate('Infra'));
  });
});
