/**
 * Turns what the lab's agents report into evidence: timeline entries (requests, served requests,
 * DNS queries, app events), how many requests each upstream served, and how often each
 * instrument fault fired (e.g. the upstream's RST on idle reuse).
 */
import type { AgentEvent } from '../agent/protocol.js';
import type { FaultRecord } from '../checks/check.js';
import { Timeline } from './timeline.js';

export class Recorder {
  readonly timeline = new Timeline();
  readonly served: Record<string, number> = {};
  private readonly instrumentFaults = new Map<string, FaultRecord>();

  /** A fault an instrument fired `n` times (0 = armed, so a check can tell "never fired" from "absent"). */
  countFault(host: string, fault: string, n: number, detail: string): void {
    const key = `${host}/${fault}`;
    const rec = this.instrumentFaults.get(key) ?? { host, fault, fired: 0, detail: '' };
    rec.fired += n;
    rec.detail = `${host}: ${fault} fired ${rec.fired} time(s)${detail ? `; last: ${detail}` : ''}`;
    this.instrumentFaults.set(key, rec);
  }

  faults(): FaultRecord[] {
    return [...this.instrumentFaults.values()];
  }

  record(e: AgentEvent): void {
    const f = e as Record<string, any>;
    switch (e.event) {
      case 'outcome':
        this.timeline.add(e.at, { ...f, kind: 'request' } as any);
        break;
      case 'served':
        this.served[f.host] = (this.served[f.host] ?? 0) + 1;
        this.timeline.add(e.at, { kind: 'served', host: f.host, peer: f.peer, local: f.local });
        break;
      case 'dns-query':
        this.timeline.add(e.at, { kind: 'dns-query', name: f.name, from: f.from, answer: f.answer });
        break;
      case 'fault-fired':
        this.countFault(f.host, f.fault, 1, f.detail);
        this.timeline.add(e.at, { kind: 'event', source: f.host, what: f.fault, detail: f.detail });
        break;
      case 'app-event':
        this.timeline.add(e.at, { kind: 'event', source: 'app', what: f.what, detail: f.detail ?? '' });
        break;
    }
  }
}
