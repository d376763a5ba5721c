/**
 * `npm start`'s demo stack uses the real image when the engine already has it under that tag, without pulling
 * (so it works offline, as here: no registry answers), and the stand-in only when the image is missing.
 * The "real" image is played by a unique tag of the stand-in, so the shared engine's real tag is never touched.
 */
import assert from 'node:assert/strict';
import { chooseDemoImage } from '../support/demo-stack';
import { dockerAvailable, dockerInstallHint, ensureDocker, type DockerHandle } from '../support/docker';
import {
  debootstrapAvailable,
  debootstrapInstallHint,
  ensureTestImages,
  TIMESCALEDB_TEST_IMAGE,
} from '../support/image';
import { run } from '../support/proc';
import { requirePart } from '../support/requirements';

describe('npm start: the demo stack image', function () {
  this.timeout(600_000);
  let docker: DockerHandle | undefined;
  const tag = `tsdb-ops-test/start-probe-${Date.now().toString(36)}:pg15`;

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker', dockerInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap (test image)', debootstrapInstallHint);
    docker = await ensureDocker();
    await ensureTestImages();
  });

  after(async () => {
    if (docker) await run('docker', ['rmi', tag], { env: docker.env, reject: false });
    await docker?.stop();
  });

  it('an image the engine has under the tag is used as it is: no pull, no stand-in', async () => {
    await run('docker', ['tag', TIMESCALEDB_TEST_IMAGE, tag], { env: docker!.env });
    const lines: string[] = [];
    const chosen = await chooseDemoImage(docker!.host, { image: tag, log: (l) => lines.push(l) });
    assert.equal(chosen.image, tag);
    assert.match(chosen.note, /already on the engine/);
    assert.deepEqual(
      lines.filter((l) => l.includes('pulling')),
      [],
    );
  });

  it('a missing image that is not pulled falls back to the stand-in, saying why', async () => {
    await run('docker', ['rmi', tag], { env: docker!.env });
    const chosen = await chooseDemoImage(docker!.host, { image: tag, pull: false });
    assert.equal(chosen.image, TIMESCALEDB_TEST_IMAGE);
    assert.match(chosen.note, new RegExp(`${tag.replace(/[/.]/g, '\\$&')}: not on the engine`));
  });
});
