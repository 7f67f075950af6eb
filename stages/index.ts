// The stage registry: one ordered array; the runner applies the stages a definition names, in this order.
import packages from './packages.ts';
import zram from './zram.ts';
import imServer from './im-server.ts';
import services from './services.ts';
import sysctl from './sysctl.ts';
import fstab from './fstab.ts';
import journald from './journald.ts';
import logrotate from './logrotate.ts';
import cron from './cron.ts';
import users from './users.ts';
import type { Stage } from '../builder/stage.ts';

/** The registry with each stage's literal name and schema type (the definition schema is typed from it). */
// cron comes last: its jobs run as accounts that packages, im-server and users create.
export const stageList = [packages, zram, imServer, services, sysctl, fstab, journald, logrotate, users, cron] as const;

export const stages: readonly Stage[] = stageList as unknown as readonly Stage[];
