/**
 * The sidecar's end at pod shutdown, in pilot-agent's order (pkg/envoy/agent.go terminate(), read
 * from the Istio module the lab builds): on SIGTERM it calls Envoy's
 * POST /drain_listeners?inboundonly&graceful, then either waits terminationDrainDuration, or, with
 * EXIT_ON_ZERO_ACTIVE_CONNECTIONS, waits MINIMUM_DRAIN_DURATION and then checks every second
 * until no listener has an active downstream connection (listener.*.downstream_cx_active, admin and
 * worker lines left out); then it kills Envoy (SIGKILL, pkg/envoy/proxy.go). The lab makes the same admin calls in the same
 * order (it does not run pilot-agent itself). Each step is a marker on the timeline and its
 * evidence a note.
 */
import type { Envoy } from '../envoy/envoy.js';
import type { Timeline } from '../timeline/timeline.js';

export interface SidecarShutdown {
  /** A preStop hook on the sidecar container (e.g. `sleep 15`): Kubernetes runs it before the SIGTERM reaches pilot-agent. */
  preStopMs?: number;
  /** terminationDrainDuration (Istio's default 5 s), time-scaled by the scenario. */
  terminationDrainMs: number;
  /** EXIT_ON_ZERO_ACTIVE_CONNECTIONS: exit once no connection is active, after minimumDrainMs. */
  exitOnZeroActive?: boolean;
  /** MINIMUM_DRAIN_DURATION (Istio's default 5 s). */
  minimumDrainMs?: number;
  /** How often the active connections are checked (pilot-agent: 1 s). */
  checkEveryMs?: number;
}

/** The sum pilot-agent reads: every listener's downstream_cx_active except the admin listener and per-worker lines. */
export function activeConnections(stats: Map<string, number>): number {
  let n = 0;
  for (const [name, v] of stats) {
    if (!name.startsWith('listener.') || !name.endsWith('.downstream_cx_active') || name.includes('worker_') || name.startsWith('listener.admin.')) continue;
    n += v;
  }
  return n;
}

type Note = (what: string, detail: string) => void;

/** Drains and stops the sidecar as pilot-agent does on SIGTERM; resolves when Envoy is gone. */
export async function shutDownSidecar(envoy: Envoy, o: SidecarShutdown, timeline: Timeline, note: Note, sleep: (ms: number) => Promise<void>): Promise<void> {
  if (o.preStopMs) {
    timeline.mark('note', `sidecar: preStop hook (${o.preStopMs} ms)`);
    await sleep(o.preStopMs);
  }
  timeline.mark('note', 'sidecar: POST /drain_listeners?inboundonly&graceful');
  const drain = await envoy.admin.post('drain_listeners?inboundonly&graceful');
  note('sidecar drain', `POST /drain_listeners?inboundonly&graceful → ${drain.status}`);
  note('sidecar server.state after the drain call', String((await envoy.admin.stat('server.state')) ?? 'unknown'));
  note('sidecar active connections at the drain', String(activeConnections(await envoy.admin.stats())));
  if (o.exitOnZeroActive) {
    await sleep(o.minimumDrainMs ?? 5000);
    const every = o.checkEveryMs ?? 1000;
    for (;;) {
      const n = activeConnections(await envoy.admin.stats());
      note('sidecar active connections', String(n));
      if (n === 0) break;
      await sleep(every);
    }
  } else {
    await sleep(o.terminationDrainMs);
  }
  note('sidecar active connections at exit', String(activeConnections(await envoy.admin.stats())));
  timeline.mark('note', 'sidecar: Envoy killed');
  await envoy.kill();
  note('sidecar exited', String(Date.now() - timeline.startedAt));
}
