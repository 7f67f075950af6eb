// The image definition schema: top-level fields declared once here, each stage's slice composed from stages/index.ts.
import { z } from 'zod';
import { stageList } from '../../stages/index.ts';

const hostname = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a hostname: lowercase letters, digits and inner dashes');

/** A plain http(s) URL: no other schemes (file:// would read the build host), no credentials (they end up in logs). */
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
  .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'a URL without user:password@ (credentials would be printed in logs and kept in the manifest)');

export const bootstrapSchema = z
  .strictObject({
    suite: z.enum(['trixie']).default('trixie').describe('Debian suite of the bootstrapped base (Pi OS 13 is trixie-based)'),
    mirror: httpUrl
      .optional()
      .describe("Debian archive URL; default: the first Debian URL of the build host's apt sources"),
    security_mirror: z
      .union([httpUrl, z.literal('none')])
      .optional()
      .describe(
        "Debian security archive added as <suite>-security (as Pi OS has); default: the build host's debian-security source on the mirror's host, else the mirror URL with /debian made /debian-security; 'none' for no security updates",
      ),
    hostname: hostname.default('raspberrypi').describe('Hostname of the base (Pi OS default: raspberrypi)'),
    extra_packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/, 'a Debian package name')).default([]).describe('Packages added to the base itself (cached with it)'),
  })
  .describe('Bootstrap a Debian arm64 base in the exact Raspberry Pi OS Lite layout');

export const baseSchema = z
  .strictObject({
    bootstrap: bootstrapSchema.optional(),
    file: z.string().min(1).optional().describe('A local .img, .img.xz or .zip (relative to the definition file)'),
    url: httpUrl.optional().describe('Download URL of a Raspberry Pi OS image (.img, .img.xz or .zip); needs sha256'),
    sha256: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest (64 hex characters)')
      .optional()
      .describe('sha256 of the downloaded file; required with url, checked with file when given'),
  })
  .superRefine((b, ctx) => {
    const given = (['bootstrap', 'file', 'url'] as const).filter((k) => b[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({ code: 'custom', message: `give exactly one of bootstrap, file, url (found ${given.length ? given.join(', ') : 'none'})` });
    if (b.url && !b.sha256) ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'url needs sha256 (the digest of the downloaded file)' });
  })
  .describe('Where the base image comes from');

export const outputSchema = z
  .strictObject({
    dir: z.string().min(1).default('out').describe('Output directory (relative to the current directory)'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores, starting with a letter or digit').optional().describe('File name stem; default: the definition name'),
    xz_level: z.number().int().min(0).max(9).default(6).describe('xz compression level (multi-threaded)'),
    extra_space_mb: z.number().int().min(0).max(65536).default(256).describe('Free space added to the root filesystem for the stages'),
  })
  .prefault({})
  .describe('What is written and where');

type StageShape = { [S in (typeof stageList)[number] as S['name']]: z.ZodOptional<S['schema']> };
const stageShape = Object.fromEntries(stageList.map((s) => [s.name, s.schema.optional()])) as unknown as StageShape;

export const definitionSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes (at most 63)').describe('Image name'),
    description: z.string().optional().describe('What this image is for'),
    base: baseSchema,
    output: outputSchema,
    stages: z.strictObject(stageShape).prefault({}).describe('Customizations, applied in the order of stages/index.ts'),
  })
  .describe('A pibake image definition');

export type ImageDefinition = z.infer<typeof definitionSchema>;
export type BaseSpec = z.infer<typeof baseSchema>;

/** JSON Schema for editors (yaml-language-server: $schema=...). */
export function definitionJsonSchema(): unknown {
  return z.toJSONSchema(definitionSchema, { io: 'input', unrepresentable: 'any' });
}
