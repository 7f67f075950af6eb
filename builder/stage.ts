// The contract between the runner and a stage: defineStage(), the StageContext stages act through, and verify checks.
import type { z } from 'zod';

/** Owner and mode of a file a stage writes into the image. */
export interface FileAttrs {
  mode?: number; // default 0o644
  owner?: string; // user name or numeric id inside the image; default root
  group?: string; // default root
}

/** What a stage may do to the image. Paths are absolute paths inside the image (/etc/...). */
export interface StageContext {
  readonly arch: 'arm64' | 'armhf';
  /** Reporter for one-line progress notes of this stage. */
  note(message: string): void;
  exists(path: string): Promise<boolean>;
  readFile(path: string): Promise<string>;
  writeFile(path: string, content: string | Buffer, attrs?: FileAttrs): Promise<void>;
  /** Renders templates/<name> with nunjucks (autoescape off, throwOnUndefined on). */
  render(template: string, vars: Record<string, unknown>): string;
  /** Copies a host directory or file into the image (recursively, ownership set to attrs.owner). */
  copyIn(hostPath: string, imagePath: string, attrs?: FileAttrs): Promise<void>;
  /** Runs a command in the image chroot (arm64 through qemu-user binfmt). Throws a ToolError on non-zero exit. */
  run(argv: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<{ stdout: string; stderr: string }>;
  units: {
    /** True when the unit file exists in the image (for an instance such as getty@tty2.service: its template). */
    exists(unit: string): Promise<boolean>;
    enable(units: string[]): Promise<void>;
    disable(units: string[]): Promise<void>;
    mask(units: string[]): Promise<void>;
  };
  /** A host-side artifact the builder prepares (cached), e.g. 'im-bundle' → directory of the IM server bundle. */
  hostArtifact(name: 'im-bundle'): Promise<string>;
  apt: {
    install(packages: string[]): Promise<void>;
    purge(packages: string[]): Promise<void>;
  };
}

/**
 * One check of a stage's promise in the booted image (pibake verify).
 * `guest` is a POSIX sh script run as root in the booted guest: exit 0 = pass, its output is the detail.
 * `host` runs on the host after boot with the forwarded IM server address.
 */
export interface VerifyCheck {
  id: string;
  title: string;
  guest?: string;
  host?: (env: { httpBase: string }) => Promise<string | void>;
}

/** What plan prints for a stage: one line per change it will make. */
export type PlanLines = string[];

/** Read-only view of the cached base for plan (debugfs, no mount, no root); absent before the first build. */
export interface BaseView {
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
}

export interface Stage<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: S;
  apply(ctx: StageContext, config: z.infer<S>): Promise<void>;
  plan(config: z.infer<S>, base?: BaseView): PlanLines;
  verify?(config: z.infer<S>): VerifyCheck[];
}

export function defineStage<const N extends string, S extends z.ZodType>(stage: Stage<S> & { name: N }): Stage<S> & { name: N } {
  return stage;
}
