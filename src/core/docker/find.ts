/**
 * The stack's containers, found by Compose's labels (`com.docker.compose.project` and
 * `com.docker.compose.service`), never by image name or container name: both Compose v1
 * (`proj_svc_1`) and v2 (`proj-svc-1`) set the same labels.
 */
import type Dockerode from 'dockerode';
import { ServiceNotCreatedError, serviceNotRunning } from '../errors/docker';
export { ServiceNotCreatedError, serviceNotRunning };

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
export const ONEOFF_LABEL = 'com.docker.compose.oneoff';

/** Every container of the project (running or not), one-off `run` containers left out. */
export async function projectContainers(
  docker: Dockerode,
  project: string,
  service?: string,
): Promise<Dockerode.ContainerInfo[]> {
  const label = [`${PROJECT_LABEL}=${project}`];
  if (service) label.push(`${SERVICE_LABEL}=${service}`);
  const list = await docker.listContainers({ all: true, filters: { label } });
  return list.filter((c) => c.Labels[ONEOFF_LABEL] !== 'True');
}

/** The running container of a service (the first replica); throws a clear error when there is none. */
export async function runningServiceContainer(
  docker: Dockerode,
  project: string,
  service: string,
): Promise<Dockerode.ContainerInfo> {
  const list = await createdContainers(docker, project, service);
  const running = list.find((c) => c.State === 'running');
  if (!running) throw serviceNotRunning(service, list[0]!.State);
  return running;
}

/** The service's main container: a running one first, else the newest; throws when it has none. */
export async function serviceContainer(
  docker: Dockerode,
  project: string,
  service: string,
): Promise<Dockerode.ContainerInfo> {
  const list = await createdContainers(docker, project, service);
  return list.find((c) => c.State === 'running') ?? [...list].sort((a, b) => b.Created - a.Created)[0]!;
}

async function createdContainers(docker: Dockerode, project: string, service: string) {
  const list = await projectContainers(docker, project, service);
  if (!list.length) throw new ServiceNotCreatedError(project, service);
  return list;
}
