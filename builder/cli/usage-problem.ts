// Turns yargs' generic usage messages into one line that names what is wrong on this command line, and a hint.

const COMMANDS = ['build', 'validate', 'plan', 'verify', 'doctor', 'schema'];
const MISSING: Record<string, string> = {
  build: 'the image definition to build, e.g. pibake build images/im-server.yaml',
  validate: 'the image definition to check, e.g. pibake validate images/im-server.yaml',
  plan: 'the image definition to plan, e.g. pibake plan images/im-server.yaml',
  verify: 'the image to boot, e.g. pibake verify out/im-server.img.xz',
};

export function usageProblem(msg: string, args: string[]): { text: string; hint: string } {
  const command = args.find((a) => !a.startsWith('-'));
  const known = command !== undefined && COMMANDS.includes(command);
  const hint = known ? `pibake ${command} --help` : 'pibake --help';
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg);
  if (unknown) {
    const first = unknown[1].split(', ')[0];
    if (!known) return { text: `unknown command ${JSON.stringify(command ?? first)} (commands: ${COMMANDS.join(', ')})`, hint };
    return first.startsWith('-') || args.includes(`--${first}`)
      ? { text: `${command}: unknown option --${first.replace(/^-+/, '')}`, hint }
      : { text: `${command}: unexpected argument ${JSON.stringify(first)}`, hint };
  }
  if (/^Not enough non-option arguments/.test(msg) && known && MISSING[command]) return { text: `${command}: missing ${MISSING[command]}`, hint };
  return { text: msg, hint };
}
