/**
 * A phase's sidecar config as a diff against the incident's own (the `before` phase's variant):
 * both variants resolved through their `base:` chains, so the diff is what Envoy really got
 * differently, not how the overlay file is written.
 */
import { readFile } from 'node:fs/promises';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { loadVariant, variantPath } from '../../envoy/config.js';
import { html, type Html } from './html.js';

const resolved = async (scenario: string, variant: string) => stringify(await loadVariant(variantPath(scenario, variant)), { lineWidth: 0 });

function diffLines(patch: string): Html[] {
  return patch
    .split('\n')
    .slice(2) // the ===/--- header repeats the names shown above the diff
    .map((line) => html`<span class="${line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}">${line}</span>\n`);
}

export async function configDiffHtml(scenario: string, variant: string, baseline: string): Promise<Html> {
  try {
    const file = await readFile(variantPath(scenario, variant), 'utf8');
    const fileBlock = html`<details><summary>the variant file envoy-configs/${scenario}/${variant}.yaml</summary><pre>${file}</pre></details>`;
    if (variant === baseline) return html`<p>This phase runs the incident's own config, <code>${variant}</code> (the baseline the other phases are compared with).</p>${fileBlock}`;
    const patch = createTwoFilesPatch(`${baseline}.yaml`, `${variant}.yaml`, await resolved(scenario, baseline), await resolved(scenario, variant), '', '', { context: 3 });
    return html`<p><code>${variant}</code> against the incident's <code>${baseline}</code>, both resolved through their <code>base:</code> chains:</p><pre class="diff">${diffLines(patch)}</pre>${fileBlock}`;
  } catch (err) {
    return html`<p class="missing">The config diff could not be made: ${(err as Error).message}</p>`;
  }
}
