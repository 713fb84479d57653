/**
 * A candidate incident for a paste, as triage judges it (judge.ts) and prints it (triage-text.ts):
 * the evidence that agrees, the checks that hold or cannot tell, how sure, what would decide.
 */
import type { EvidenceKind, Mark, SeenEntry } from './clue.js';

export interface FactResult {
  says: string;
  /** Undefined: the evidence cannot tell. */
  holds: boolean | undefined;
  evidence: string;
}

export interface Support {
  kind: EvidenceKind;
  says: string;
  lines: number[];
  /** The mark it shows, when it is one (supports of one mark are shown together). */
  mark?: Mark;
}

export type Confidence = 'strong' | 'likely' | 'weak';

export interface Candidate {
  scenario: string;
  phase: string;
  says: string;
  pattern: string;
  /** Requests whose entries the pattern fits (a table row counts its requests), of the failing ones and of all. */
  matched: number;
  failing: number;
  total: number;
  facts: FactResult[];
  support: Support[];
  /** The independent kinds of evidence that agree. */
  kinds: EvidenceKind[];
  specificity: number;
  /** Some evidence agrees and none contradicts. */
  isMatch: boolean;
  /** Another form of the entries matched (an older Envoy's, the other side's): who writes it so. */
  olderForm?: string;
  /** For a pattern that fits nothing: the fields the closest failing entry lacks. */
  missing?: string[];
  /** What the signature would check that the evidence does not carry: what would decide. */
  unknown: string[];
  confidence: Confidence;
  /** Only a generic status and flags agree (503 UF): too little to name an incident. */
  thin: boolean;
  /** No entry fits, but a failing one shares two fields with the pattern: worth showing as the closest. */
  nearly: boolean;
}

/** An entry that is a failure: an HTTP error status, no response, or a response flag Envoy set. */
export const isFailing = (a: SeenEntry) =>
  a.kind === 'tcp' ? a.flags !== undefined : (a.code !== undefined && (a.code === 0 || a.code >= 400)) || a.flags !== undefined || (a.details !== undefined && a.details !== 'via_upstream');
