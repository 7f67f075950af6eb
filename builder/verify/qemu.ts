// Starts qemu-system-aarch64 (virt, TCG) on a -snapshot of the disk with the console and the results port in files.
import { createServer } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { VerifyError } from './errors.ts';
import { PORT_NAME } from './guest-payload.ts';

export interface QemuOptions {
  kernel: string;
  initrd: string;
  cmdline: string;
  image: string;
  /** 'qcow2' for the grown overlay verify puts over the raw image (default raw) */
  imageFormat?: 'raw' | 'qcow2';
  modulesDisk?: string;
  consoleLog: string;
  resultsFile: string;
  hostPort: number; // forwarded to guest port 8080
  guestPort?: number;
  cpus?: number;
  memoryMiB?: number;
}

export function qemuArgs(o: QemuOptions): string[] {
  const args = [
    '-M', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg,thread=multi',
    '-smp', String(o.cpus ?? 2), '-m', String(o.memoryMiB ?? 1024),
    '-display', 'none', '-monitor', 'none', '-no-reboot', '-snapshot',
    '-kernel', o.kernel, '-initrd', o.initrd, '-append', o.cmdline,
    '-chardev', `file,id=con0,path=${o.consoleLog}`, '-serial', 'chardev:con0',
    '-drive', `file=${o.image},format=${o.imageFormat ?? 'raw'},if=none,id=disk0,cache=unsafe`, '-device', 'virtio-blk-pci,drive=disk0',
    '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${o.hostPort}-:${o.guestPort ?? 8080}`, '-device', 'virtio-net-pci,netdev=net0,romfile=', // no option ROM: no PXE boot, and no ipxe-qemu package needed
    '-device', 'virtio-serial-pci',
    '-chardev', `file,id=res0,path=${o.resultsFile}`, '-device', `virtserialport,chardev=res0,name=${PORT_NAME}`,
    '-device', 'virtio-rng-pci',
  ];
  if (o.modulesDisk) args.push('-drive', `file=${o.modulesDisk},format=raw,if=none,id=disk1`, '-device', 'virtio-blk-pci,drive=disk1');
  return args;
}

export interface RunningQemu {
  startedAt: number;
  exited: Promise<{ code?: number; stderr: string }>;
  stop(): Promise<void>;
}

export function startQemu(o: QemuOptions): RunningQemu {
  const proc: ResultPromise = execa('qemu-system-aarch64', qemuArgs(o), { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  const startedAt = Date.now();
  const exited = proc.then(
    (r) => ({ code: r.exitCode, stderr: String(r.stderr ?? '') }),
    (e: unknown) => ({ code: undefined, stderr: String(e) }),
  );
  let stopped = false;
  return {
    startedAt,
    exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A free TCP port on 127.0.0.1 for the hostfwd. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', () => reject(new VerifyError('net', 'cannot find a free local port', 'is 127.0.0.1 available?')));
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}
