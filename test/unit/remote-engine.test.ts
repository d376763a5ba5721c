/**
 * The parts of a remote engine that need no server: known_hosts checks (plain, hashed, [host]:port,
 * wildcards, negation, changed, unknown, revoked) and Docker contexts read like the docker CLI
 * (DOCKER_CONTEXT, config.json, meta.json, precedence against DOCKER_HOST and the settings).
 * The SSH connection itself is tested against a real sshd in test/integration/docker-ssh.test.ts.
 */
import { strict as assert } from 'node:assert';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentContextName, listContexts } from '../../src/core/docker/contexts';
import { resolveEngine } from '../../src/core/docker/engine-address';
import { checkHostKey, hostKeyError, parseKnownHosts } from '../../src/core/docker/known-hosts';
import { parseSshHost } from '../../src/core/docker/ssh-engine';

/** A key blob of the given type (length-prefixed type name, then random bytes). */
function blob(type: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, randomBytes(36)]);
}

describe('known_hosts checks', () => {
  const key = blob('ssh-ed25519');
  const other = blob('ssh-ed25519');
  const rsa = blob('ssh-rsa');
  const line = (hosts: string, k: Buffer, type = 'ssh-ed25519') => `${hosts} ${type} ${k.toString('base64')}`;

  it('a listed key matches: plain names, [host]:port for other ports, comma lists and wildcards', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        line('db.example,10.0.0.5', key),
        line('[127.0.0.1]:2222', key),
        line('*.staging.example', key),
      ].join('\n'),
      'kh',
    );
    assert.equal(checkHostKey(entries, 'db.example', 22, key).kind, 'match');
    assert.equal(checkHostKey(entries, '10.0.0.5', 22, key).kind, 'match');
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, key).kind, 'match');
    assert.equal(checkHostKey(entries, 'a.staging.example', 22, key).kind, 'match');
    // Port 22 entries do not cover other ports (as OpenSSH).
    assert.equal(checkHostKey(entries, 'db.example', 2222, key).kind, 'unknown');
  });

  it('hashed host names (HashKnownHosts yes) are matched', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[db.example]:2200').digest('base64');
    const entries = parseKnownHosts(line(`|1|${salt.toString('base64')}|${hash}`, key), 'kh');
    assert.equal(checkHostKey(entries, 'db.example', 2200, key).kind, 'match');
    assert.equal(checkHostKey(entries, 'db.example', 22, key).kind, 'unknown');
  });

  it('a different key of the same type is "changed"; another type or no entry is "unknown"; negation excludes', () => {
    const entries = parseKnownHosts(
      [line('db.example', other), line('*.example,!prod.example', other)].join('\n'),
      'kh',
    );
    const v = checkHostKey(entries, 'db.example', 22, key);
    assert.equal(v.kind, 'changed');
    assert.equal(checkHostKey(entries, 'db.example', 22, rsa).kind, 'unknown');
    assert.equal(checkHostKey(entries, 'prod.example', 22, key).kind, 'unknown');
    assert.equal(checkHostKey(entries, 'elsewhere.org', 22, key).kind, 'unknown');
  });

  it('a @revoked key is refused even when also listed', () => {
    const entries = parseKnownHosts(
      [`@revoked * ssh-ed25519 ${key.toString('base64')}`, line('db.example', key)].join('\n'),
      'kh',
    );
    assert.equal(checkHostKey(entries, 'db.example', 22, key).kind, 'revoked');
  });

  it('the messages name the host, the fingerprint, the file and line, and the fix', () => {
    const fp = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    const unknown = hostKeyError({ kind: 'unknown' }, 'db.example', 2222, key, ['/home/u/.ssh/known_hosts']);
    assert.equal(unknown.verdict, 'unknown');
    assert.ok(unknown.message.includes(`[db.example]:2222 is unknown (ssh-ed25519 ${fp})`), unknown.message);
    assert.ok(unknown.message.includes('ssh-keyscan -p 2222 db.example >> /home/u/.ssh/known_hosts'), unknown.message);
    const entries = parseKnownHosts(`\n${line('db.example', other)}`, '/kh');
    const v = checkHostKey(entries, 'db.example', 22, key);
    assert.equal(v.kind, 'changed');
    const changed = hostKeyError(v as Exclude<typeof v, { kind: 'match' }>, 'db.example', 22, key, ['/kh']);
    assert.ok(changed.message.includes('has CHANGED'), changed.message);
    assert.ok(changed.message.includes('/kh:2'), changed.message);
    assert.ok(changed.message.includes(`ssh-keygen -R 'db.example'`), changed.message);
  });
});

describe('Docker contexts and the engine address', () => {
  let dir: string;
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ DOCKER_CONFIG: dir, ...extra });
  function context(name: string, host: string, description = ''): void {
    const d = join(dir, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
    mkdirSync(d, { recursive: true });
    writeFileSync(
      join(d, 'meta.json'),
      JSON.stringify({
        Name: name,
        Metadata: { Description: description },
        Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
      }),
    );
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-ctx-'));
    context('staging', 'ssh://ops@staging.example:2222', 'staging host');
    context('prod', 'tcp://10.0.0.9:2376');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists default first, then the named contexts with their hosts', () => {
    assert.deepEqual(
      listContexts(env()).map((c) => [c.name, c.host]),
      [
        ['default', undefined],
        ['prod', 'tcp://10.0.0.9:2376'],
        ['staging', 'ssh://ops@staging.example:2222'],
      ],
    );
  });

  it('the current context: DOCKER_CONTEXT, else config.json currentContext, else default', () => {
    assert.equal(currentContextName(env()).name, 'default');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: 'staging' }));
    assert.equal(currentContextName(env()).name, 'staging');
    assert.equal(currentContextName(env({ DOCKER_CONTEXT: 'prod' })).name, 'prod');
  });

  it('precedence: tsdbOps.docker.host > tsdbOps.docker.context > DOCKER_HOST > the CLI current context > the socket', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: 'staging' }));
    const fromCli = resolveEngine(undefined, env());
    assert.equal(fromCli.host, 'ssh://ops@staging.example:2222');
    assert.equal(fromCli.context, 'staging');
    assert.deepEqual([fromCli.ssh?.username, fromCli.ssh?.host, fromCli.ssh?.port], ['ops', 'staging.example', 2222]);
    assert.equal(resolveEngine(undefined, env({ DOCKER_HOST: 'unix:///x.sock' })).source, 'DOCKER_HOST');
    const chosen = resolveEngine(undefined, env({ DOCKER_HOST: 'unix:///x.sock' }), { context: 'prod' });
    assert.equal(chosen.host, 'tcp://10.0.0.9:2376');
    assert.equal(chosen.source, 'context prod (tsdbOps.docker.context)');
    assert.equal(resolveEngine('unix:///y.sock', env(), { context: 'prod' }).source, 'tsdbOps.docker.host');
  });

  it('an unknown context is a clear error naming the known ones and how to create it', () => {
    assert.throws(
      () => resolveEngine(undefined, env({ DOCKER_CONTEXT: 'nope' })),
      /Docker context "nope" does not exist .*known contexts: default, prod, staging\. Create it with "docker context create nope/,
    );
  });

  it('ssh:// addresses: user, host and port (22 by default); a path is refused', () => {
    assert.deepEqual(parseSshHost('ssh://ops@db.example', {}), { host: 'db.example', port: 22, username: 'ops' });
    assert.deepEqual(parseSshHost('ssh://db.example:2200', { USER: 'me' }), {
      host: 'db.example',
      port: 2200,
      username: 'me',
    });
    assert.throws(() => parseSshHost('ssh://db.example/x', {}), /has no path/);
  });
});
