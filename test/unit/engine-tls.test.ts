/**
 * tcp:// engines with TLS: how `tsdbOps.docker.tlsCertPath` and DOCKER_CERT_PATH/DOCKER_TLS_VERIFY map to
 * dockerode's options (ca/cert/key read from the folder, https) and to the CLIs' environment (paths only,
 * never a key's contents); a folder missing a file is an error naming it. The live check against a
 * `dockerd --tlsverify` is test/integration/docker-tls.test.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliDockerEnv, engineLabel, resolveEngine } from '../../src/core/docker/engine-address';
import { composeEnv } from '../../src/core/docker/compose-cli';

describe('tcp:// engines with TLS settings', () => {
  let dir: string;
  const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-tls-unit-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    writeFileSync(join(dir, 'key.pem'), KEY);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tsdbOps.docker.tlsCertPath: https on 2376 with ca/cert/key from the folder; CLIs get the path and TLS_VERIFY', async () => {
    const t = resolveEngine('tcp://docker.example:2376', {}, { tlsCertPath: dir });
    assert.equal(t.options.protocol, 'https');
    assert.equal(t.options.port, 2376);
    assert.equal(String(t.options.ca), 'CA');
    assert.equal(String(t.options.cert), 'CERT');
    assert.equal(String(t.options.key), KEY);
    assert.deepEqual(t.tls, { certPath: dir });
    const env = await cliDockerEnv(t);
    assert.deepEqual(env, { DOCKER_HOST: 'tcp://docker.example:2376', DOCKER_CERT_PATH: dir, DOCKER_TLS_VERIFY: '1' });
    assert.ok(!JSON.stringify(env).includes('secret-key-material'), 'the key stays in its file');
    const child = composeEnv({ dockerEnv: env, env: { PATH: '/bin' } });
    assert.equal(child['DOCKER_CERT_PATH'], dir);
    assert.equal(child['DOCKER_TLS_VERIFY'], '1');
    assert.equal(engineLabel(t), 'tcp://docker.example:2376');
  });

  it('without a port, TLS defaults to 2376 (plain tcp:// to 2375, no TLS, no cert variables)', async () => {
    assert.equal(resolveEngine('tcp://h', {}, { tlsCertPath: dir }).options.port, 2376);
    const plain = resolveEngine('tcp://h', {});
    assert.deepEqual([plain.options.protocol, plain.options.port, plain.tls], ['http', 2375, undefined]);
    assert.deepEqual(await cliDockerEnv(plain), { DOCKER_HOST: 'tcp://h' });
  });

  it('DOCKER_CERT_PATH + DOCKER_TLS_VERIFY from the environment work as for the docker CLI', () => {
    const t = resolveEngine('tcp://h:2376', { DOCKER_CERT_PATH: dir, DOCKER_TLS_VERIFY: '1' });
    assert.equal(t.options.protocol, 'https');
    assert.equal(String(t.options.ca), 'CA');
    // The CLIs inherit the same variables from the environment: nothing to add.
    assert.equal(t.tls, undefined);
  });

  it('a tlsCertPath folder without key.pem is an error naming the setting, the folder and the file', () => {
    const partial = mkdtempSync(join(tmpdir(), 'tsdbops-tls-unit-'));
    try {
      writeFileSync(join(partial, 'ca.pem'), 'CA');
      writeFileSync(join(partial, 'cert.pem'), 'CERT');
      assert.throws(
        () => resolveEngine('tcp://h:2376', {}, { tlsCertPath: partial }),
        (e: Error) =>
          e.name === 'EngineConfigError' &&
          e.message.includes('tsdbOps.docker.tlsCertPath') &&
          e.message.includes(partial) &&
          e.message.includes('no key.pem'),
      );
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  });

  it('tlsCertPath does not change an ssh:// or unix:// engine', async () => {
    const u = resolveEngine('unix:///var/run/docker.sock', {}, { tlsCertPath: dir });
    assert.equal(u.tls, undefined);
    assert.deepEqual(await cliDockerEnv(u), { DOCKER_HOST: 'unix:///var/run/docker.sock' });
    assert.equal(resolveEngine('ssh://u@h', {}, { tlsCertPath: dir }).tls, undefined);
  });
});
