/** What every `lab` command writes to and how it ends: its result on stdout, progress on stderr, an exit code. */
export const labIo = {
  say: (s: string) => void process.stdout.write(`${s}\n`),
  progress: (s: string) => void process.stderr.write(`${s}\n`),
  exitCode: 0,
};
