/**
 * Triage on real pastes (test/triage/corpus: 60 snippets people pasted into public threads, each
 * with its thread's incident). Scored as README's triage page reports it (test/support/triage-corpus.ts):
 * no paste may throw, none may get a wrong first answer, at least 85 % of those whose incident the
 * lab reproduces must be named first, and a paste named first (`first: true` in answers.yaml) must
 * stay so. A paste read no better is not a failure; one read worse is.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { corpus, score, summary, type Scored } from '../support/triage-corpus.js';

describe('triage on the corpus of real pastes', async () => {
  const scenarios = await Promise.all(scenarioIds().map(loadScenario));
  const items = corpus();
  const scored: Scored[] = [];

  for (const item of items) {
    it(`${item.id} (${item.shape}): ${item.expect === 'not-in-lab' ? 'not one of the lab\'s incidents' : item.expect.join(' or ')}`, () => {
      const s = score(item, scenarios);
      scored.push(s);
      const answer = `${s.triage.answer.kind}${s.named.length ? ` ${s.named.join(', ')}` : ''}`;
      expect(s.score, `a wrong first answer: ${answer} (${item.source})`).not.toBe('wrong');
      if (item.first) expect(s.score, `named first before, now: ${answer}`).toBe('top-1');
    });
  }

  it('names the thread\'s incident first for ≥ 85 % of the pastes the lab reproduces, and nothing wrong', () => {
    const all = scored.length === items.length ? scored : items.map((i) => score(i, scenarios));
    const s = summary(all);
    console.log(`triage corpus: ${s.line}`);
    for (const x of all.filter((y) => y.score !== 'top-1')) console.log(`  ${x.score.padEnd(7)} ${x.item.id}: ${x.triage.answer.kind} ${x.named.join(', ')}`);
    expect(s.wrong).toBe(0);
    expect(s.top1 / s.inLab).toBeGreaterThanOrEqual(0.85);
  });
});
