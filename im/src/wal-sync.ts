// Makes SQLite's WAL durable from libuv's threadpool (fdatasync of the -wal file), so the event loop never blocks on
// the disk; at open it also syncs the data dir and everything already in the WAL, so only synced data is ever served.
import { openSync, closeSync, fsyncSync, fdatasync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

export class WalSync {
  private fd: number;
  syncs = 0;

  /** dbFile must be open in WAL mode by a connection that stays open (SQLite keeps the -wal file while it does). */
  constructor(dbFile: string) {
    const wal = `${dbFile}-wal`;
    if (!existsSync(wal)) throw new Error(`${wal} does not exist: open the database in WAL mode first`);
    this.fd = openSync(wal, 'r');
    fsyncSync(this.fd);
    const dir = openSync(dirname(dbFile), 'r');
    try { fsyncSync(dir); } finally { closeSync(dir); }
  }

  /** Resolves once every frame written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.fd, (err) => {
      if (err) return reject(err);
      this.syncs++;
      resolve();
    }));
  }

  close(): void { closeSync(this.fd); }
}
