/**
 * A lab run's evidence as a person in the incident would paste it: what the app met (its clients'
 * errors, the bodies it got, the certificate check, what its server side saw of each request),
 * what the agents saw of its connections, Envoy's own log (and pilot-agent's, under --istio) and
 * the counters at the end. Triage reads it like any paste, so a signature's marks are held
 * against the real errors and log lines of the lab's own runs, not written from memory.
 */
import type { EvidenceData } from '../evidence/evidence.js';

export function pasteOfRun(data: Pick<EvidenceData, 'timeline' | 'statsAfter'>, envoyLog = ''): string {
  const lines: string[] = [];
  for (const e of data.timeline.entries) {
    if (e.kind === 'request') {
      for (const text of [e.errorMessage ?? e.error, e.authorizationError, e.body?.split('\n')[0]]) if (text) lines.push(text);
    } else if (e.kind === 'event') lines.push(`${e.what}: ${e.detail}`);
  }
  lines.push(...envoyLog.split('\n'));
  for (const [name, value] of Object.entries(data.statsAfter ?? {})) lines.push(`${name}: ${value}`);
  return lines.join('\n');
}
