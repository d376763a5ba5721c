/**
 * Start, stop and restart of one service's container through the Engine API (found by Compose's
 * labels). A service with no container yet is created by Compose (`up -d <service>`), not here.
 */
import type Dockerode from 'dockerode';
import { serviceContainer } from './find';

export type ContainerAction = 'start' | 'stop' | 'restart';

export interface ContainerActionResult {
  readonly service: string;
  readonly containerId: string;
  readonly containerName: string;
  readonly action: ContainerAction;
  /** What the Engine did: false when the container already was in the wanted state. */
  readonly changed: boolean;
}

export async function containerAction(
  docker: Dockerode,
  project: string,
  service: string,
  action: ContainerAction,
  opts: { stopTimeoutS?: number } = {},
): Promise<ContainerActionResult> {
  const info = await serviceContainer(docker, project, service);
  const c = docker.getContainer(info.Id);
  const t = opts.stopTimeoutS ?? 10;
  let changed = true;
  const state = info.State;
  switch (action) {
    case 'start':
      if (state === 'paused') await c.unpause();
      else if (state === 'running' || state === 'restarting') changed = false;
      else await c.start();
      break;
    case 'stop':
      if (state === 'running' || state === 'restarting' || state === 'paused') await c.stop({ t });
      else changed = false;
      break;
    case 'restart':
      if (state === 'paused') await c.unpause();
      await c.restart({ t });
      break;
  }
  return {
    service,
    containerId: info.Id,
    containerName: (info.Names[0] ?? info.Id).replace(/^\//, ''),
    action,
    changed,
  };
}

/** Whether `bash` exists in the container (for an interactive shell: bash, else sh). */
export async function hasBash(docker: Dockerode, containerId: string): Promise<boolean> {
  try {
    const exec = await docker
      .getContainer(containerId)
      .exec({ Cmd: ['bash', '--version'], AttachStdout: true, AttachStderr: true });
    const s = (await exec.start({})) as NodeJS.ReadableStream;
    s.resume();
    await new Promise((r) => {
      s.on('end', r);
      s.on('close', r);
      s.on('error', r);
    });
    for (let i = 0; i < 50; i++) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode === 0;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  } catch {
    return false;
  }
}
