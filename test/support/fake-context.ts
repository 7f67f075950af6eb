// A recording StageContext over an in-memory file tree, for unit tests of stages (no Docker, no image).
import type { FileAttrs, StageContext } from '../../builder/stage.ts';
import { renderTemplate } from '../../builder/templates.ts';

export interface FakeFile {
  content: string;
  attrs: Required<FileAttrs>;
}

export class FakeContext implements StageContext {
  readonly arch = 'arm64' as const;
  files = new Map<string, FakeFile>();
  units = {
    present: new Set<string>(),
    enabled: new Set<string>(),
    masked: new Set<string>(),
    exists: async (u: string) => this.units.present.has(u),
    enable: async (us: string[]) => us.forEach((u) => this.units.enabled.add(u)),
    disable: async (us: string[]) => us.forEach((u) => this.units.enabled.delete(u)),
    mask: async (us: string[]) => us.forEach((u) => this.units.masked.add(u)),
  };
  installed: string[] = [];
  purged: string[] = [];
  runs: string[][] = [];
  notes: string[] = [];
  copies: { from: string; to: string }[] = [];
  apt = {
    install: async (p: string[]) => void this.installed.push(...p),
    purge: async (p: string[]) => void this.purged.push(...p),
  };
  constructor(files: Record<string, string> = {}, units: string[] = []) {
    for (const [p, c] of Object.entries(files)) this.files.set(p, { content: c, attrs: { mode: 0o644, owner: 'root', group: 'root' } });
    units.forEach((u) => this.units.present.add(u));
  }
  note(m: string) {
    this.notes.push(m);
  }
  async exists(p: string) {
    return this.files.has(p);
  }
  async readFile(p: string) {
    const f = this.files.get(p);
    if (!f) throw new Error(`no such file ${p}`);
    return f.content;
  }
  async writeFile(p: string, content: string | Buffer, attrs: FileAttrs = {}) {
    this.files.set(p, { content: content.toString(), attrs: { mode: attrs.mode ?? 0o644, owner: attrs.owner ?? 'root', group: attrs.group ?? attrs.owner ?? 'root' } });
  }
  render(t: string, v: Record<string, unknown>) {
    return renderTemplate(t, v);
  }
  async copyIn(from: string, to: string) {
    this.copies.push({ from, to });
  }
  async run(argv: string[]) {
    this.runs.push(argv);
    return { stdout: '', stderr: '' };
  }
  async hostArtifact(name: string) {
    return `/fake/${name}`;
  }
}
