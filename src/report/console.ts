/** Live progress on stderr while a scenario runs, and the verdict table at the end (stdout). */
import type { PhaseResult } from '../scenario/run-phase.js';
import type { RunReporter } from '../scenario/run-scenario.js';
import type { Phase } from '../scenario/scenario.js';
import { verdictLines } from './verdict-text.js';

const tty = process.stdout.isTTY;
const color = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = color(32);
export const red = color(31);
export const yellow = color(33);
export const dim = color(2);
export const bold = color(1);

const STATUS_TEXT: Record<PhaseResult['status'], string> = {
  pass: green('PASS'),
  fail: red('FAIL'),
  unknown: yellow('UNKNOWN'),
  error: red('ERROR'),
  'not-applicable': yellow('N/A'),
};

export class ConsoleReporter implements RunReporter {
  private phaseStarted = 0;

  constructor(private readonly out: (s: string) => void = (s) => process.stderr.write(`${s}\n`)) {}

  phaseStart(phase: Phase, iteration: number, repeat: number): void {
    this.phaseStarted = Date.now();
    const n = repeat > 1 ? ` (${iteration}/${repeat})` : '';
    this.out(`\n${bold(`▶ ${phase.name}${n}`)} ${dim(`[${phase.kind}]`)} ${phase.title}`);
  }

  step(line: string): void {
    this.out(dim(`  ${((Date.now() - this.phaseStarted) / 1000).toFixed(1).padStart(5)}s  ${line}`));
  }

  phaseEnd(r: PhaseResult): void {
    this.out(`  ${STATUS_TEXT[r.status]} ${dim(`in ${(r.timings.wallMs / 1000).toFixed(1)} s`)}`);
    for (const line of verdictLines(r)) this.out(`  ${line}`);
  }
}

/** The table at the end: one row per phase, N/N across repeats. */
export function verdictTable(results: PhaseResult[]): string {
  const byPhase = new Map<string, PhaseResult[]>();
  for (const r of results) byPhase.set(r.phase, [...(byPhase.get(r.phase) ?? []), r]);
  const rows = [...byPhase.values()].map((rs) => {
    const first = rs[0]!;
    const good = rs.filter((r) => r.status === 'pass').length;
    const na = rs.every((r) => r.status === 'not-applicable');
    const status = na ? STATUS_TEXT['not-applicable'] : good === rs.length ? STATUS_TEXT.pass : STATUS_TEXT[rs.find((r) => r.status !== 'pass')!.status];
    return [first.phase, first.kind, status, na ? '-' : `${good}/${rs.length}`, first.title];
  });
  const widths = [0, 1, 3].map((i) => Math.max(...rows.map((r) => strip(r[i]!).length), 5));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - strip(s).length));
  const header = [pad('phase', widths[0]!), pad('kind', 7), pad('verdict', 7), pad('runs', widths[2]!), 'what it shows'].join('  ');
  return [bold(header), ...rows.map((r) => [pad(r[0]!, widths[0]!), pad(r[1]!, 7), pad(r[2]!, 7), pad(r[3]!, widths[2]!), r[4]].join('  '))].join('\n');
}

const strip = (s: string) => s.replace(/\x1b\[\d+m/g, '');
