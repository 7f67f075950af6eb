// One builder container per build: least privilege (SYS_ADMIN + MKNOD, loop devices), removed on every exit path.
import { existsSync, readdirSync } from 'node:fs';
import type Docker from 'dockerode';
import { docker } from './docker.ts';
import { containerExec, type ContainerExecOptions, type ExecResult } from './exec.ts';
import type { CleanupStack } from '../cleanup.ts';
import { pidAlive } from '../host/stale-dirs.ts';

export interface Bind {
  host: string;
  container: string;
  readOnly?: boolean;
}

export interface BuildContainer {
  id: string;
  exec(argv: string[], opts?: ContainerExecOptions): Promise<ExecResult>;
  sh(script: string, opts?: ContainerExecOptions): Promise<ExecResult>;
  /** Removes the container now (it is also removed by the cleanup stack). */
  remove(): Promise<void>;
}

/** The host's loop devices, passed explicitly (plus a cgroup rule so new ones can be made with mknod). */
function loopDevices(): Docker.DeviceMapping[] {
  const names = readdirSync('/dev').filter((n) => /^loop(\d+|-control)$/.test(n));
  return names.map((n) => ({ PathOnHost: `/dev/${n}`, PathInContainer: `/dev/${n}`, CgroupPermissions: 'rwm' }));
}

export const containerLabel = 'io.pibake.build';

/**
 * The engine says the container is gone (removed by an interrupt's cleanup before a late cleanup ran). What lived
 * inside it went with it: its mount namespace, so its mounts, and with them the auto-clearing loop devices.
 */
export const containerGone = (e: unknown): boolean => /HTTP code 404|no such container/i.test(String((e as Error)?.message ?? e));
const pidLabel = 'io.pibake.pid';

/** Removes build containers whose pibake process is gone (a kill -9 or a crashed host). Returns their names. */
export async function removeOrphanContainers(): Promise<string[]> {
  const list = await docker().listContainers({ all: true, filters: { label: [containerLabel] } });
  const removed: string[] = [];
  for (const info of list) {
    const pid = Number(info.Labels[pidLabel]);
    if (!Number.isInteger(pid) || pid <= 0) continue; // not ours to judge (made by another pibake version)
    if (pidAlive(pid)) continue;
    await docker().getContainer(info.Id).remove({ force: true }).catch(() => {});
    removed.push(info.Names[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12));
  }
  return removed;
}

export async function startBuildContainer(
  image: string,
  binds: Bind[],
  cleanups: CleanupStack,
  opts: { name: string; network?: boolean; debug?: (m: string) => void },
): Promise<BuildContainer> {
  // registered before the create call: a Ctrl-C while the engine creates it must still remove it (by name)
  const remove = cleanups.push(`remove container ${opts.name}`, async () => {
    await docker().getContainer(opts.name).remove({ force: true, v: true }).catch(() => {});
  });
  const container = await docker().createContainer({
    Image: image,
    name: opts.name,
    Cmd: ['sleep', 'infinity'],
    Labels: { [containerLabel]: '1', [pidLabel]: String(process.pid) },
    Env: ['LC_ALL=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive', 'MTOOLS_SKIP_CHECK=1'],
    HostConfig: {
      AutoRemove: false,
      CapAdd: ['SYS_ADMIN', 'MKNOD'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Devices: existsSync('/dev/loop-control') ? loopDevices() : [],
      DeviceCgroupRules: ['b 7:* rmw', 'c 10:237 rmw'],
      Binds: binds.map((b) => `${b.host}:${b.container}${b.readOnly ? ':ro' : ''}`),
      NetworkMode: opts.network === false ? 'none' : 'bridge',
      Init: true,
    },
  });
  await container.start();
  const exec = (argv: string[], o: ContainerExecOptions = {}) => containerExec(container, argv, { debug: opts.debug, ...o });
  return {
    id: container.id,
    exec,
    sh: (script, o) => exec(['bash', '-euo', 'pipefail', '-c', script], o),
    remove,
  };
}
