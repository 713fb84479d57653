/**
 * Shared CLI plumbing (commander): one clear message per bad input, exit codes, LabError
 * rendering. Exit codes: 0 as documented, 1 a phase did not behave / an error, 2 bad input
 * (usage), 3 a missing prerequisite, 130 interrupted.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { LabError, PrerequisiteError, UsageError } from '../errors.js';
import { INSTALLED } from '../paths.js';

/** A command whose parse errors become one UsageError (printed by `main`, exit 2). */
export function cliCommand(name: string, description: string): Command {
  // Installed, the same CLI is `npx envoy-fault-lab scenario …` (src/cli/bin.ts): its help says so.
  return new Command(INSTALLED ? name.replace(/^npm run (\w+) --$/, 'envoy-fault-lab $1') : name)
    .description(description)
    .helpOption('-h, --help', 'this text')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
}

/**
 * Parses argv and runs the chosen action. Actions return their exit code through `exitCode()`
 * (a closure the CLI file keeps), so a finished run can say 1 without throwing.
 */
export async function main(program: Command, exitCode: () => number, argv = process.argv): Promise<void> {
  // `npm run scenario -- --list | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  for (const c of [program, ...program.commands]) c.exitOverride().configureOutput({ outputError: () => {} });
  try {
    await program.parseAsync(argv);
    process.exitCode = exitCode();
  } catch (err) {
    process.exitCode = report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    const usage = new UsageError(err.message.replace(/^error: /, ''), { fix: 'see --help' });
    process.stderr.write(`${usage.render()}\n`);
    return 2;
  }
  if (err instanceof LabError) {
    process.stderr.write(`${err.render()}\n`);
    return err instanceof UsageError ? 2 : err instanceof PrerequisiteError ? 3 : 1;
  }
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

/** An option parser for whole numbers in [min, max]. */
export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

/** "a,b" and repeated options → ["a", "b"]. */
export const commaList = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
