/**
 * Workshop mode: `--narrate` tells the room what each step of a phase is about to do and why (in
 * the scenario's words: the phase's title, the incident's symptom and cause, its waits' labels,
 * the fault's description, `lab.say`), shows the app's request outcomes as they happen and the
 * connection table the moment it is taken; `--step` also waits for Enter before each step that
 * changes the world (the app keeps running meanwhile, as it would in production).
 */
import { createInterface, type Interface } from 'node:readline';
import type { Colors } from '../report/colors.js';
import type { PhaseNarrator } from '../scenario/phase-narrator.js';
import type { Phase, Scenario } from '../scenario/scenario.js';
import { Timeline, type RequestEntry } from '../timeline/timeline.js';

const KIND_INTRO: Record<Phase['kind'], string> = {
  before: 'The incident as it happened, with its original config',
  fix: 'A fix, in a fresh lab, with the same incident replayed',
  live: 'A fix applied in the middle of the incident',
  control: 'A popular non-fix, shown not to work',
  measure: 'A measurement',
};

/** "503 upstream connect error… (1001 ms)" */
function describeRequest(r: RequestEntry): string {
  const what = r.status !== undefined ? `${r.status}${r.body ? ` ${r.body.slice(0, 100)}` : ''}` : r.error ? `no response: ${r.error}` : r.ok ? `ok ${r.op ?? ''}` : `failed ${r.op ?? ''}`;
  return `${what} (${r.latencyMs} ms${r.localPort ? `, conn :${r.localPort}` : ''})`;
}

export interface NarratorOptions {
  /** Wait for Enter before each step that changes the world. */
  step: boolean;
  colors: Colors;
  /** A terminal gets a live line redrawn in place; anything else gets the outcomes at each step. */
  tty: boolean;
  write: (text: string) => void;
  input?: NodeJS.ReadableStream;
}

export class WorkshopNarrator implements PhaseNarrator {
  private stopWatching = () => {};
  private timeline?: Timeline;
  private liveShown = false;
  private requestsPrinted = 0;
  private rl?: Interface;
  private lines?: AsyncIterator<string>;
  private stepping: boolean;

  constructor(private readonly o: NarratorOptions) {
    this.stepping = o.step;
  }

  /** A line of output that must not be garbled by the live line. */
  print(line: string): void {
    this.commitLive();
    this.o.write(`${line}\n`);
  }

  /** Before a phase: what it shows, in the scenario's words. */
  async phase(scenario: Scenario, phase: Phase): Promise<void> {
    const c = this.o.colors;
    this.print('');
    this.print(c.bold(`${KIND_INTRO[phase.kind]}: ${phase.title}`));
    if (phase.kind === 'before') {
      this.print(`  symptom: ${scenario.symptom}`);
      this.print(`  cause:   ${scenario.cause}`);
    }
    this.print(c.dim(`  sidecar config: envoy-configs/${scenario.id}/${phase.config}.yaml · time scaled: ${scenario.timeScaling}`));
    await this.pause();
  }

  async before(what: string, o: { why?: string; pause?: boolean } = {}): Promise<void> {
    const c = this.o.colors;
    this.print(`${c.cyan('  →')} ${what}`);
    if (o.why) this.print(c.dim(`    ${o.why}`));
    if (o.pause) await this.pause();
  }

  show(title: string, text: string): void {
    const c = this.o.colors;
    const rows = text.split('\n').filter((l) => l.trim() && !/^LISTEN/.test(l));
    this.print(c.bold(`  ${title}`));
    for (const row of rows) this.print(`    ${row.length > 160 ? `${row.slice(0, 157)}…` : row}`);
  }

  watch(timeline: Timeline): void {
    this.stopWatching();
    this.timeline = timeline;
    this.requestsPrinted = 0;
    this.stopWatching = timeline.onEntry((e) => {
      if (e.kind === 'request' && this.o.tty) this.drawLive(e);
    });
  }

  /** Waits for Enter (with --step); a closed input ends stepping and the run goes on by itself. */
  async enter(): Promise<void> {
    this.rl ??= createInterface({ input: this.o.input ?? process.stdin, terminal: false }); // cooked tty: Ctrl-C stays a real SIGINT
    this.lines ??= this.rl[Symbol.asyncIterator]();
    const next = await this.lines.next();
    if (next.done) this.stepping = false;
    if (!((this.o.input ?? process.stdin) as { isTTY?: boolean }).isTTY) this.o.write('\n'); // a terminal echoed the Enter; piped input did not
  }

  close(): void {
    this.commitLive();
    this.stopWatching();
    this.rl?.close();
  }

  private async pause(): Promise<void> {
    if (!this.stepping) return;
    this.commitLive();
    this.o.write(this.o.colors.dim('    [Enter] '));
    await this.enter();
  }

  private drawLive(last: RequestEntry): void {
    const strip = this.timeline!.strip(60);
    this.o.write(`\r\x1b[2K  app ▸ ${strip}   ${this.o.colors.dim(`#${last.seq} ${describeRequest(last)}`)}`);
    this.liveShown = true;
  }

  /** Ends the live line (terminal) or prints the outcomes since the last step (anything else). */
  private commitLive(): void {
    if (this.liveShown) {
      this.o.write('\n');
      this.liveShown = false;
      return;
    }
    if (this.o.tty || !this.timeline) return;
    const requests = this.timeline.requests();
    if (requests.length === this.requestsPrinted) return;
    const fresh = requests.slice(this.requestsPrinted);
    this.requestsPrinted = requests.length;
    const strip = Timeline.from({ startedAt: this.timeline.startedAt, entries: fresh }).strip(60);
    this.o.write(`  app ▸ ${strip}   (${fresh.length} since the last step; last #${fresh.at(-1)!.seq} ${describeRequest(fresh.at(-1)!)})\n`);
  }
}
