// The Docker engine connection (dockerode, honouring DOCKER_HOST like the docker CLI) and a friendly check of it.
import Docker from 'dockerode';
import { PibakeError } from '../errors.ts';

let engine: Docker | undefined;

export function docker(): Docker {
  engine ??= new Docker();
  return engine;
}

export async function assertEngine(): Promise<void> {
  try {
    await docker().ping();
  } catch (e: any) {
    if (e.code === 'EACCES')
      throw new PibakeError('tool', 'E_DOCKER', 'the Docker engine runs, but this user may not use its socket (EACCES)',
        'run pibake as root (a build also needs loop devices), or add the user to the docker group');
    throw new PibakeError(
      'tool',
      'E_DOCKER',
      `no Docker engine answers (${e.code ?? e.message})`,
      'start it: `dockerd >/var/log/dockerd.log 2>&1 &` (or `systemctl start docker`); `pibake doctor` checks everything',
    );
  }
}
