/**
 * actionlint (rhysd/actionlint, the standard linter for GitHub Actions workflows), built from the
 * Go module proxy as lab/actionlint on first use, so the test suite checks the upgrade workflow the
 * lab ships without a download from anywhere else.
 */
import { execa } from 'execa';
import { PrerequisiteError } from '../errors.js';
import { labGoTool } from './lab-go-tool.js';

export async function actionlintBinary(progress?: (line: string) => void): Promise<string> {
  const bin = await labGoTool({ name: 'actionlint', what: 'the GitHub Actions workflow linter', from: 'github.com/rhysd/actionlint' }, progress);
  if (!bin) throw new PrerequisiteError('actionlint needs Go to build', { fix: 'install Go (apt-get install golang), then run again' });
  return bin;
}

/** actionlint's findings on a workflow file: empty when it passes. */
export async function actionlint(workflow: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa(await actionlintBinary(), ['-no-color', workflow], { reject: false, all: true });
  return { ok: r.exitCode === 0, output: String(r.all ?? '') };
}
