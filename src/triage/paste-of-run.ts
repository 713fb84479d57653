/**
 * A lab run's evidence as a person in the incident would paste it: what the app met (its clients'
 * errors, the bodies it got, the certificate check, what its server side saw of each request),
 * what the agents saw of its connections, Envoy's own log (and pilot-agent's, under --istio) and
 * the counters at the end. Triage reads it like any paste, so a signature's marks are held
 * against the real errors and log lines of the lab's own runs, not written from memory.
 */
import type { EvidenceData } from '../evidence/evidence.js';

/**
 * Envoy's (and pilot-agent's) lines up to the phase's end: the lab's teardown afterwards (pilot-agent
 * draining and stopping Envoy) is not the incident's. A line's time is Istio's ISO time (UTC) or
 * Envoy's bracketed local time; untimed lines go with the line before them.
 */
function duringThePhase(log: string, endMs: number): string[] {
  const out: string[] = [];
  let keep = true;
  for (const line of log.split('\n')) {
    const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)/.exec(line)?.[1];
    const local = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)\]/.exec(line);
    const at = iso ? Date.parse(iso) : local ? new Date(`${local[1]}T${local[2]}`).getTime() : undefined;
    if (at !== undefined && !Number.isNaN(at)) keep = at <= endMs;
    if (keep) out.push(line);
  }
  return out;
}

export function pasteOfRun(data: Pick<EvidenceData, 'timeline' | 'statsAfter'>, envoyLog = ''): string {
  const lines: string[] = [];
  for (const e of data.timeline.entries) {
    if (e.kind === 'request') {
      for (const text of [e.errorMessage ?? e.error, e.authorizationError, e.body?.split('\n')[0]]) if (text) lines.push(text);
    } else if (e.kind === 'event') lines.push(`${e.what}: ${e.detail}`);
  }
  lines.push(...duringThePhase(envoyLog, data.timeline.startedAt + Math.max(0, ...data.timeline.entries.map((e) => e.t))));
  for (const [name, value] of Object.entries(data.statsAfter ?? {})) lines.push(`${name}: ${value}`);
  return lines.join('\n');
}
