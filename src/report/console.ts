/** Live progress on stderr while a scenario runs, and the verdict table at the end (stdout). */
import { textTable as plainTable } from '../util/text-table.js';
import type { PhaseResult } from '../scenario/run-phase.js';
import type { PhaseReporter, RunReporter } from '../scenario/run-scenario.js';
import type { Phase } from '../scenario/scenario.js';
import { stderrColors, stdoutColors, type Colors } from './colors.js';
import { STATUS_WORD, verdictLines } from './verdict-text.js';

export function statusText(status: PhaseResult['status'], c: Colors): string {
  const paint = { pass: c.green, gone: c.cyan, fail: c.red, error: c.red, unknown: c.yellow, 'not-applicable': c.yellow }[status];
  return paint(STATUS_WORD[status]);
}

/**
 * Progress on stderr. One phase at a time: its header, its steps as they happen, its verdict.
 * With --parallel: one line as each phase starts, then each phase's whole block when it ends,
 * so the blocks never interleave.
 */
export class ConsoleReporter implements RunReporter {
  private readonly c = stderrColors;

  constructor(
    private readonly parallel = 1,
    private readonly out: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
  ) {}

  start(phase: Phase, iteration: number, repeat: number): PhaseReporter {
    const started = Date.now();
    const n = repeat > 1 ? ` (${iteration}/${repeat})` : '';
    const header = `\n${this.c.bold(`▶ ${phase.name}${n}`)} ${this.c.dim(`[${phase.kind}]`)} ${phase.title}`;
    const buffered = this.parallel > 1;
    const lines: string[] = [];
    const emit = (l: string) => (buffered ? lines.push(l) : this.out(l));
    if (buffered) this.out(this.c.dim(`  … ${phase.name}${n} started`));
    else this.out(header);
    return {
      step: (line) => emit(this.c.dim(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${line}`)),
      end: (r) => {
        emit(`  ${statusText(r.status, this.c)} ${this.c.dim(`in ${(r.timings.wallMs / 1000).toFixed(1)} s`)}`);
        for (const line of verdictLines(r)) emit(`  ${line}`);
        if (buffered) this.out([header, ...lines].join('\n'));
      },
    };
  }
}

/** A borderless table with a bold header (util/text-table.ts). */
export function textTable(head: string[], rows: string[][], c: Colors = stdoutColors, align?: Array<'left' | 'right'>): string {
  return plainTable(head, rows, { header: c.bold, align });
}

/** The table at the end: one row per phase, N/N across repeats. */
export function verdictTable(results: PhaseResult[], c: Colors = stdoutColors): string {
  const byPhase = new Map<string, PhaseResult[]>();
  for (const r of results) byPhase.set(r.phase, [...(byPhase.get(r.phase) ?? []), r]);
  const rows = [...byPhase.values()].map((rs) => {
    const first = rs[0]!;
    const good = rs.filter((r) => r.status === 'pass' || r.status === 'gone').length;
    const na = rs.every((r) => r.status === 'not-applicable');
    const status = na ? 'not-applicable' : good === rs.length ? (rs.some((r) => r.status === 'gone') ? 'gone' : 'pass') : rs.find((r) => r.status !== 'pass' && r.status !== 'gone')!.status;
    return [first.phase, first.kind, statusText(status, c), na ? '-' : `${good}/${rs.length}`, na ? `${first.title} (${first.reason})` : first.title];
  });
  return textTable(['phase', 'kind', 'verdict', 'runs', 'what it shows'], rows, c);
}
