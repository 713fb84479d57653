/**
 * The triage corpus (test/triage-corpus: real pastes with their threads' incidents) scored the
 * way README's triage page reports it. An answer's first line is what a person acts on, so it is
 * what is scored:
 * - top-1: it names the thread's incident: alone, or in a "cannot tell" of at most three that
 *   holds it (the answer then says what would decide);
 * - wrong: it names only incidents that are not the thread's (for a paste whose incident the lab
 *   does not reproduce: any incident not listed under `also`);
 * - refused: "needs more" or "not one of the lab's incidents";
 * - top-3: the thread's incident is among the first three candidates listed, whatever the answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { SignedScenario } from '../../src/triage/signature.js';
import { envoyOfIstio } from '../../src/triage/envoy-of-istio.js';
import { readPaste } from '../../src/triage/read/read-paste.js';
import { triagePaste, type Triage } from '../../src/triage/triage.js';

export const CORPUS_DIR = join(import.meta.dirname, '../triage/corpus');

export interface CorpusItem {
  id: string;
  mode: string;
  version: string;
  source: string;
  conclusion: string;
  shape: string;
  expect: string[] | 'not-in-lab';
  also?: string[];
  /** Named first by the lab today: it must stay so. */
  first?: boolean;
}

export type Score = 'top-1' | 'refused' | 'wrong' | 'other';

export interface Scored {
  item: CorpusItem;
  text: string;
  triage: Triage;
  /** The scenarios the answer's first line names. */
  named: string[];
  score: Score;
  top3: boolean;
  envoyVersion?: string;
}

export const corpus = (): CorpusItem[] => parse(readFileSync(join(CORPUS_DIR, 'answers.yaml'), 'utf8'));

/** The Envoy the thread states (Envoy x.y, or Istio x.y mapped to its Envoy), as a user would pass --envoy-version. */
export function statedEnvoy(version: string): string | undefined {
  const envoy = /\bEnvoy v?(1\.\d+)(?:\.\d+)?/i.exec(version);
  if (envoy) return `${envoy[1]}.0`;
  const istio = /\bIstio v?(1\.\d+(?:\.\d+)?)/i.exec(version);
  return istio ? envoyOfIstio(istio[1]!) : undefined;
}

export const namedFirst = (t: Triage): string[] => (t.answer.kind === 'named' ? [t.answer.best.scenario] : t.answer.kind === 'undecided' ? t.answer.tied.map((c) => c.scenario) : []);

export function score(item: CorpusItem, scenarios: SignedScenario[]): Scored {
  const text = readFileSync(join(CORPUS_DIR, 'pastes', `${item.id}.txt`), 'utf8');
  const envoyVersion = statedEnvoy(item.version);
  const t = triagePaste(readPaste(text), scenarios, {}, { envoyVersion });
  const named = namedFirst(t);
  const expect = item.expect === 'not-in-lab' ? [] : item.expect;
  const allowed = new Set([...expect, ...(item.also ?? [])]);
  let s: Score;
  if (!named.length) s = expect.length ? 'refused' : 'top-1';
  else if (named.every((n) => !allowed.has(n))) s = 'wrong';
  else if (expect.length && named.length <= 3 && named.some((n) => expect.includes(n))) s = 'top-1';
  else if (!expect.length && named.every((n) => allowed.has(n))) s = 'top-1';
  else s = 'other';
  const top3 = expect.length ? t.candidates.slice(0, 3).some((c) => expect.includes(c.scenario)) : s === 'top-1';
  return { item, text, triage: t, named, score: s, top3, envoyVersion };
}

export function summary(scored: Scored[]): { inLab: number; top1: number; alone: number; top3: number; refused: number; wrong: number; line: string } {
  const inLab = scored.filter((x) => x.item.expect !== 'not-in-lab');
  const top1 = inLab.filter((x) => x.score === 'top-1').length;
  const alone = inLab.filter((x) => x.score === 'top-1' && x.named.length === 1).length;
  const top3 = inLab.filter((x) => x.top3).length;
  const refused = inLab.filter((x) => x.score === 'refused').length;
  const wrong = scored.filter((x) => x.score === 'wrong').length;
  const outside = scored.length - inLab.length;
  const outsideRight = scored.filter((x) => x.item.expect === 'not-in-lab' && x.score === 'top-1').length;
  const pct = (n: number) => `${Math.round((100 * n) / inLab.length)} %`;
  return {
    inLab: inLab.length,
    top1,
    alone,
    top3,
    refused,
    wrong,
    line: `${scored.length} pastes, ${inLab.length} of incidents the lab reproduces: top-1 ${top1} (${pct(top1)}; ${alone} named alone, ${top1 - alone} in a "cannot tell" of ≤ 3), top-3 ${top3} (${pct(top3)}), refused ${refused}, wrong ${wrong}; ${outsideRight} of ${outside} others answered "not in the lab" or with an allowed neighbour`,
  };
}
