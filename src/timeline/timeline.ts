/**
 * One ordered history per phase: the app's request outcomes, what the upstreams served, DNS
 * queries, and markers for everything the scenario did (fault, DNS switch, config change).
 * Times are ms since the phase started. Checks read it; the report plots it.
 */
import { EventEmitter } from 'node:events';
import type { Outcome } from '../clients/outcome.js';
import { WaitTimeoutError } from '../util/time.js';

/**
 * `cds` / `rds` / `lds`: one xDS part accepted by Envoy on its own (lab.push.inOrder). `push`: a live
 * config change started (lab.push.variant); `config`: Envoy has accepted it. A request started
 * between the two may already run on the new config (measured: 20 ms before `config`).
 */
/** The timeline event that says your own app (--app) ran in the pod during the phase. */
export const USER_APP_STARTED = 'your app started';

export type MarkerCategory = 'fault' | 'dns' | 'push' | 'config' | 'cds' | 'rds' | 'lds' | 'eds' | 'sidecar' | 'note';

export type TimelineEntry =
  | ({ t: number; kind: 'request' } & Outcome)
  | { t: number; kind: 'marker'; category: MarkerCategory; label: string }
  | { t: number; kind: 'served'; host: string; peer: string; local: string }
  | { t: number; kind: 'dns-query'; name: string; from: string; answer: string[] }
  /** Something an agent observed: a fault firing, the app's connection closing, a reconnect. */
  | { t: number; kind: 'event'; source: string; what: string; detail: string };

export type RequestEntry = Extract<TimelineEntry, { kind: 'request' }>;
export type MarkerEntry = Extract<TimelineEntry, { kind: 'marker' }>;
export type EventEntry = Extract<TimelineEntry, { kind: 'event' }>;

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  private readonly changed = new EventEmitter();

  constructor(readonly startedAt = Date.now()) {}

  /** A timeline read back from stored evidence. */
  static from(stored: { startedAt: number; entries: TimelineEntry[] }): Timeline {
    const t = new Timeline(stored.startedAt);
    t.entries.push(...stored.entries);
    return t;
  }

  /** Adds an entry stamped with an absolute wall-clock time. */
  add(at: number, entry: DistributiveOmit<TimelineEntry, 't'>): void {
    const added = { t: at - this.startedAt, ...entry } as TimelineEntry;
    this.entries.push(added);
    this.entries.sort((a, b) => a.t - b.t);
    this.changed.emit('entry', added);
  }

  mark(category: MarkerCategory, label: string): MarkerEntry {
    this.add(Date.now(), { kind: 'marker', category, label });
    return this.markers().at(-1)!;
  }

  /** Calls `listener` with every entry added from now on (a live view); returns how to stop. */
  onEntry(listener: (e: TimelineEntry) => void): () => void {
    this.changed.on('entry', listener);
    return () => this.changed.off('entry', listener);
  }

  requests(): RequestEntry[] {
    return this.entries.filter((e): e is RequestEntry => e.kind === 'request');
  }

  events(what?: string): EventEntry[] {
    return this.entries.filter((e): e is EventEntry => e.kind === 'event' && (!what || e.what === what));
  }

  markers(): MarkerEntry[] {
    return this.entries.filter((e): e is MarkerEntry => e.kind === 'marker');
  }

  /** The first marker of a category (e.g. when DNS was switched). */
  marker(category: MarkerCategory): MarkerEntry | undefined {
    return this.markers().find((m) => m.category === category);
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs` with what was seen. */
  waitFor(what: string, predicate: (t: Timeline) => boolean, timeoutMs: number): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onEntry = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.changed.off('entry', onEntry);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changed.off('entry', onEntry);
        reject(new WaitTimeoutError(`waited ${timeoutMs} ms for ${what}`, { evidence: `timeline: ${this.strip()}` }));
      }, timeoutMs);
      this.changed.on('entry', onEntry);
    });
  }

  /**
   * A glanceable summary: one character per request (. ok, o 4xx, x 5xx, ! no response), markers
   * as ^category. Past `width` requests, one character stands for a run of them (the worst of
   * the run) and the strip says how many.
   */
  strip(width = 120): string {
    const requests = this.entries.filter((e) => e.kind === 'request').length;
    const per = Math.max(1, Math.ceil(requests / width));
    const rank = '.ox!';
    let out = '';
    let worst = -1;
    let inRun = 0;
    const flush = () => {
      if (inRun) out += rank[worst];
      worst = -1;
      inRun = 0;
    };
    for (const e of this.entries) {
      if (e.kind === 'marker') {
        flush();
        out += ` ^${e.category} `;
      } else if (e.kind === 'request') {
        const c = e.ok === true || (e.ok === undefined && e.status !== undefined && e.status < 400) ? '.' : e.status !== undefined && e.status < 500 ? 'o' : e.status !== undefined ? 'x' : '!';
        worst = Math.max(worst, rank.indexOf(c));
        if (++inRun === per) flush();
      }
    }
    flush();
    return per > 1 ? `${out.trim()}  (1 char = ${per} requests)` : out;
  }
}

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;
