// Stage packages: installs and purges Debian packages in the image (service starts denied by policy-rc.d).
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';
import { disjointLists } from './disjoint-lists.ts';

const pkg = z.string().regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:-]+)?$/, 'a Debian package name, optionally =version');

/** The package of `name[:arch][=version]`. */
const packageName = (p: string): string => p.split('=')[0]!.split(':')[0]!;

/** Whether dpkg's status file has the package installed. */
function isInstalled(status: string, p: string): boolean {
  return new RegExp(`^Package: ${packageName(p).replace(/[+.]/g, '\\$&')}\n(?:[A-Z][^\n]*\n)*?Status: install ok installed`, 'm').test(status);
}

export default defineStage({
  name: 'packages',
  description: 'Install or purge packages with apt inside the image',
  schema: z.strictObject({
    install: z.array(pkg).default([]).describe('Packages to install (no recommends), e.g. htop'),
    purge: z.array(pkg).default([]).describe('Packages to purge, with their now-unneeded dependencies; one the image lacks is reported and skipped'),
  }).superRefine(disjointLists(['install', 'purge'], 'a package is installed or purged, not both', packageName)),
  async apply(ctx, cfg) {
    // like services.disable: Pi OS variants differ in what they carry, so purging an absent package is only a note
    const status = cfg.purge.length ? await ctx.readFile('/var/lib/dpkg/status') : '';
    const present = cfg.purge.filter((p) => isInstalled(status, p) || (ctx.note(`${p} is not installed in the image; nothing to purge`), false));
    if (present.length) await ctx.apt.purge(present);
    await ctx.apt.install(cfg.install);
  },
  plan: (cfg, base) => {
    const status = base?.readFile('/var/lib/dpkg/status');
    const installed = (p: string) => (status ? isInstalled(status, p) : undefined);
    const tag = (p: string) => (status === undefined ? '' : installed(p) ? ' (already in the base)' : ' (new)');
    const purgeTag = (p: string) => (status === undefined ? '' : installed(p) ? '' : ' (not in the base, will be skipped)');
    return [...cfg.install.map((p) => `apt install ${p}${tag(p)}`), ...cfg.purge.map((p) => `apt purge ${p}${purgeTag(p)}`)];
  },
  verify: (cfg) =>
    cfg.install.map((p) => ({
      id: `packages.${p}`,
      title: `${p} installed`,
      guest: `dpkg-query -W -f '\${Status} \${Version}\\n' ${p.split('=')[0]} | grep '^install ok installed'`,
    })),
});
