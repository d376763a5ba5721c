/**
 * A container of the test image that only sleeps (no PostgreSQL, no network): what the runtime suites run
 * their tools in. `useIdleContainer(label)` inside a `describe` starts it in `before` and removes it in
 * `after`; the returned getters are valid in the tests.
 */
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { dockerAvailable, dockerInstallHint, ensureDocker, type DockerHandle } from './docker';
import { debootstrapAvailable, debootstrapInstallHint, ensureTestImages, TIMESCALEDB_TEST_IMAGE } from './image';
import { requirePart } from './requirements';

export interface IdleContainer {
  client(): Dockerode;
  container(): Dockerode.Container;
}

export function useIdleContainer(label: string): IdleContainer {
  let docker: DockerHandle | undefined;
  let client: Dockerode | undefined;
  let container: Dockerode.Container | undefined;

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    docker = await ensureDocker();
    await ensureTestImages();
    client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: docker.host }));
    container = await client.createContainer({
      Image: TIMESCALEDB_TEST_IMAGE,
      Entrypoint: ['sleep', 'infinity'],
      Labels: { 'tsdb-ops.test': label },
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
  });

  after(async () => {
    await container?.remove({ force: true }).catch(() => undefined);
    await docker?.stop();
  });

  return {
    client: () => client!,
    container: () => container!,
  };
}
