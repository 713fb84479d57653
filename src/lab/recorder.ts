/**
 * Turns what the lab's agents report into evidence: timeline entries (requests, served requests,
 * DNS queries, faults firing, app events) and how many requests each upstream served.
 */
import type { AgentEvent } from '../agent/protocol.js';
import { Timeline } from '../timeline/timeline.js';

export class Recorder {
  readonly timeline = new Timeline();
  readonly served: Record<string, number> = {};

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
        this.timeline.add(e.at, { kind: 'event', source: f.host, what: f.fault, detail: f.detail });
        break;
      case 'host-event':
        this.timeline.add(e.at, { kind: 'event', source: f.host, what: f.what, detail: f.detail ?? '' });
        break;
      case 'app-event':
        this.timeline.add(e.at, { kind: 'event', source: 'app', what: f.what, detail: f.detail ?? '' });
        break;
    }
  }
}
