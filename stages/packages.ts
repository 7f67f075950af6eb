// Stage packages: installs and purges Debian packages in the image (service starts denied by policy-rc.d).
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';

const pkg = z.string().regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:-]+)?$/, 'a Debian package name, optionally =version');

export default defineStage({
  name: 'packages',
  description: 'Install or purge packages with apt inside the image',
  schema: z.strictObject({
    install: z.array(pkg).default([]).describe('Packages to install (no recommends), e.g. htop'),
    purge: z.array(pkg).default([]).describe('Packages to purge, with their now-unneeded dependencies'),
  }),
  async apply(ctx, cfg) {
    await ctx.apt.purge(cfg.purge);
    await ctx.apt.install(cfg.install);
  },
  plan: (cfg, base) => {
    const status = base?.readFile('/var/lib/dpkg/status');
    const installed = (p: string) => (status ? new RegExp(`^Package: ${p.split('=')[0]!.replace(/[+.]/g, '\\$&')}\nStatus: install ok installed`, 'm').test(status) : undefined);
    const tag = (p: string) => (status === undefined ? '' : installed(p) ? ' (already in the base)' : ' (new)');
    return [...cfg.install.map((p) => `apt install ${p}${tag(p)}`), ...cfg.purge.map((p) => `apt purge ${p}${tag(p)}`)];
  },
  verify: (cfg) =>
    cfg.install.map((p) => ({
      id: `packages.${p}`,
      title: `${p} installed`,
      guest: `dpkg-query -W -f '\${Status} \${Version}\\n' ${p.split('=')[0]} | grep '^install ok installed'`,
    })),
});
