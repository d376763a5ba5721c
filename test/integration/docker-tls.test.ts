/**
 * A tcp:// engine with TLS, for real: a THROWAWAY dockerd of this suite (never the bench's shared engine)
 * listening on a loopback port with `--tlsverify` and certificates generated here with openssl (a CA, a
 * server certificate for 127.0.0.1, a client certificate). With `tsdbOps.docker.tlsCertPath` on the
 * client folder: dockerode talks to it, and so do the docker CLI and Compose with the environment the
 * extension gives them (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY; no key in argv). A client
 * trusting another CA refuses the engine's certificate; a client without certificates is refused by it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliDockerEnv, connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { runCompose } from '../../src/core/docker/compose-cli';
import { registerCleanup } from '../support/cleanup';
import { canStartPrivateDocker, dockerInstallHint, pidAlive } from '../support/docker';
import { freePort, run, sleep, waitFor } from '../support/proc';
import { requirePart, which } from '../support/requirements';
import { composeAvailable, composeInstallHint } from '../support/stack';

const openssl = (args: string[], cwd: string) => run('openssl', args, { cwd });

/** ca/ (ca.pem + key), server/ (cert for IP 127.0.0.1), client/ (ca.pem, cert.pem, key.pem: the DOCKER_CERT_PATH layout). */
async function makeCerts(dir: string, name: string): Promise<{ ca: string; server: string; client: string }> {
  const root = join(dir, name);
  const [ca, server, client] = ['ca', 'server', 'client'].map((d) => join(root, d)) as [string, string, string];
  for (const d of [ca, server, client]) mkdirSync(d, { recursive: true });
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name} test CA`,
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
    ],
    ca,
  );
  const sign = async (folder: string, cn: string, ext: string) => {
    await openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', 'key.pem', '-out', 'req.csr'],
      folder,
    );
    writeFileSync(join(folder, 'ext.cnf'), ext);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        'req.csr',
        '-CA',
        join(ca, 'ca.pem'),
        '-CAkey',
        join(ca, 'ca-key.pem'),
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        'ext.cnf',
        '-out',
        'cert.pem',
      ],
      folder,
    );
  };
  await sign(server, '127.0.0.1', 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  await sign(client, 'client', 'extendedKeyUsage = clientAuth\n');
  writeFileSync(join(client, 'ca.pem'), readFileSync(join(ca, 'ca.pem')));
  return { ca, server, client };
}

describe('A tcp:// engine with TLS (a throwaway dockerd --tlsverify on loopback)', function () {
  this.timeout(180_000);
  let dir: string;
  let host: string;
  let client: string;
  let otherClient: string;
  let pid: number | undefined;
  let exited: Promise<void> | undefined;
  let unregister: (() => void) | undefined;

  const stop = async () => {
    if (!pid || !pidAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await exited;
  };

  before(async function () {
    requirePart(this, canStartPrivateDocker(), 'a startable dockerd (root + docker.io)', dockerInstallHint);
    requirePart(this, composeAvailable(), 'Docker Compose', composeInstallHint);
    requirePart(this, which('openssl') !== undefined, 'openssl', 'apt-get install -y openssl');
    dir = mkdtempSync('/tmp/tsdbops-tls-');
    unregister = registerCleanup({
      name: `throwaway TLS dockerd in ${dir}`,
      run: async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
      runSync: () => {
        if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      },
    });
    const certs = await makeCerts(dir, 'engine');
    client = certs.client;
    otherClient = (await makeCerts(dir, 'other')).client;
    const port = await freePort();
    host = `tcp://127.0.0.1:${port}`;
    const log = join(dir, 'dockerd.log');
    const fd = openSync(log, 'a');
    const child = spawn(
      which('dockerd', ['/usr/sbin', '/usr/bin']) ?? 'dockerd',
      [
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        '--data-root',
        join(dir, 'root'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        join(dir, 'docker.pid'),
        '-H',
        host,
        '--tlsverify',
        '--tlscacert',
        join(certs.ca, 'ca.pem'),
        '--tlscert',
        join(certs.server, 'cert.pem'),
        '--tlskey',
        join(certs.server, 'key.pem'),
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    pid = child.pid!;
    exited = new Promise((res) => child.once('exit', () => res()));
    const env = { DOCKER_HOST: host, DOCKER_CERT_PATH: client, DOCKER_TLS_VERIFY: '1' };
    await waitFor(
      'the throwaway TLS dockerd to answer',
      async () => {
        if (!pidAlive(pid!)) throw new Error(`dockerd exited: ${readFileSync(log, 'utf8').slice(-2000)}`);
        const r = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
          env,
          reject: false,
          timeoutMs: 5000,
        });
        return r.exitCode === 0 ? true : undefined;
      },
      60_000,
      200,
    );
  });

  after(async () => {
    await stop();
    await sleep(300);
    if (dir) rmSync(dir, { recursive: true, force: true });
    unregister?.();
  });

  it('dockerode with tsdbOps.docker.tlsCertPath talks to the engine (https, verified against ca.pem)', async () => {
    const t = resolveEngine(host, {}, { tlsCertPath: client });
    assert.equal(t.options.protocol, 'https');
    const docker = await connectEngine(t);
    const v = await docker.version();
    assert.ok(v.ApiVersion);
    assert.deepEqual(await docker.listContainers({ all: true }), []);
  });

  it('the docker CLI and Compose reach it with the environment the extension gives them; no key in argv', async () => {
    const t = resolveEngine(host, {}, { tlsCertPath: client });
    const env = await cliDockerEnv(t);
    assert.deepEqual(env, { DOCKER_HOST: host, DOCKER_CERT_PATH: client, DOCKER_TLS_VERIFY: '1' });
    const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], {
      env: { PATH: process.env.PATH, ...env },
    });
    assert.match(info.stdout.trim(), /^\d+\.\d+/);
    const infra = join(dir, 'infra');
    mkdirSync(infra);
    writeFileSync(join(infra, 'docker-compose.yaml'), 'services:\n  db:\n    image: postgres:15\n');
    const lines: string[] = [];
    const r = await runCompose(
      {
        composeFile: join(infra, 'docker-compose.yaml'),
        infraDir: infra,
        envFile: join(infra, '.env'),
        envFileExists: false,
        projectName: 'tsdbopstls',
      },
      ['ps'],
      { dockerEnv: env, env: { PATH: process.env.PATH }, onLine: (l) => lines.push(l) },
    );
    assert.equal(r.exitCode, 0, lines.join('\n'));
    const key = readFileSync(join(client, 'key.pem'), 'utf8');
    assert.ok(!r.argv.some((a) => a.includes('PRIVATE KEY') || (key.includes(a) && a.length > 40)), r.argv.join(' '));
  });

  it('a client trusting another CA refuses the engine; a client without certificates is refused', async () => {
    const wrongCa = await connectEngine(resolveEngine(host, {}, { tlsCertPath: otherClient }));
    await assert.rejects(wrongCa.version(), (e: Error & { code?: string }) => {
      assert.match(`${e.code ?? ''} ${e.message}`, /self[- ]signed|unable to verify|certificate/i);
      return true;
    });
    const plain = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: { PATH: process.env.PATH, DOCKER_HOST: host },
      reject: false,
      timeoutMs: 20_000,
    });
    assert.notEqual(plain.exitCode, 0, 'no TLS: the engine refuses');
  });
});
