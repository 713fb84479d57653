/** Shared CLI plumbing: one clear line per bad input, exit codes, LabError rendering. */
import { LabError, PrerequisiteError, UsageError } from '../errors.js';

export async function main(run: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await run();
  } catch (err) {
    if (err instanceof LabError) {
      process.stderr.write(`${err.render()}\n`);
      process.exitCode = err instanceof UsageError ? 2 : err instanceof PrerequisiteError ? 3 : 1;
    } else {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
