/**
 * The sidecar's end at pod shutdown, in pilot-agent's order (pkg/envoy/agent.go terminate(), read
 * from the Istio module the lab builds): on SIGTERM it calls Envoy's
 * POST /drain_listeners?inboundonly&graceful, then either waits terminationDrainDuration, or, with
 * EXIT_ON_ZERO_ACTIVE_CONNECTIONS, waits MINIMUM_DRAIN_DURATION and then checks every second
 * until no listener has an active downstream connection (listener.*.downstream_cx_active, admin and
 * worker lines left out); then it kills Envoy (SIGKILL, pkg/envoy/proxy.go). Without pilot-agent
 * (hand-written configs) the lab makes the same admin calls in the same order; under --istio
 * pilot-agent runs and does them itself. Each step is a marker on the timeline and its evidence a
 * note.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Envoy } from '../envoy/envoy.js';
import { LabRuntimeError } from '../errors.js';
import type { Timeline } from '../timeline/timeline.js';

export interface SidecarShutdown {
  /** A preStop hook on the sidecar container (e.g. `sleep 15`): Kubernetes runs it before the SIGTERM reaches pilot-agent. */
  preStopMs?: number;
  /** terminationDrainDuration (Istio's default 5 s), time-scaled by the scenario. */
  terminationDrainMs: number;
  /**
   * drainDuration (Istio's default 45 s; Envoy's --drain-time-s): how long drained listeners still
   * accept before Envoy closes them. Default: the lab's 2 s. Scale it with terminationDrainMs: the
   * other way round, the pod refuses its callers before pilot-agent's wait is over (measured).
   */
  drainDurationMs?: number;
  /** EXIT_ON_ZERO_ACTIVE_CONNECTIONS: exit once no connection is active, after minimumDrainMs. */
  exitOnZeroActive?: boolean;
  /** MINIMUM_DRAIN_DURATION (Istio's default 5 s). */
  minimumDrainMs?: number;
  /** How often the active connections are checked (pilot-agent: 1 s). */
  checkEveryMs?: number;
}

/** Istio's defaults: terminationDrainDuration 5 s, no EXIT_ON_ZERO_ACTIVE_CONNECTIONS. */
export const ISTIO_DEFAULT_SHUTDOWN: SidecarShutdown = { terminationDrainMs: 5000 };

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
  if (envoy.viaAgent) return terminateViaPilotAgent(envoy, o, timeline, note, sleep);
  timeline.mark('note', 'sidecar: POST /drain_listeners?inboundonly&graceful');
  const drain = await envoy.admin.post('/drain_listeners?inboundonly&graceful');
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

/**
 * Under --istio the sidecar runs under Istio's own pilot-agent, which does all of the above itself
 * on SIGTERM. The lab sends the SIGTERM, watches Envoy's stats (through the admin relay) until
 * pilot-agent has killed it, and reads pilot-agent's own words from its log for the notes.
 */
async function terminateViaPilotAgent(envoy: Envoy, o: SidecarShutdown, timeline: Timeline, note: Note, sleep: (ms: number) => Promise<void>): Promise<void> {
  const logFrom = (await stat(envoy.logFile).catch(() => ({ size: 0 }))).size;
  const active = async () => activeConnections(await envoy.admin.stats());
  note('sidecar active connections at the drain', String(await active().catch(() => -1)));
  timeline.mark('note', 'sidecar: SIGTERM to pilot-agent');
  const limitMs = (o.exitOnZeroActive ? (o.minimumDrainMs ?? 5000) + 30_000 : o.terminationDrainMs) + 10_000;
  let settled = false;
  const gone = envoy.terminate(limitMs).finally(() => (settled = true));
  let lastActive: number | undefined;
  let state: number | undefined;
  while (!settled) {
    try {
      const stats = await envoy.admin.stats();
      lastActive = activeConnections(stats);
      state ??= stats.get('server.state');
    } catch {
      /* Envoy is going */
    }
    await Promise.race([sleep(100), gone]);
  }
  if (!(await gone)) throw new LabRuntimeError(`pilot-agent had not ended ${limitMs} ms after its SIGTERM`, { fix: `read ${envoy.logFile} (pilot-agent's lines: its drain and its checks of active connections)` });
  if (!(await gone)) throw new LabRuntimeError(`pilot-agent had not ended ${limitMs} ms after its SIGTERM`, { fix: `read ${envoy.logFile} (pilot-agent's lines: its drain and its checks of active connections)` });
  note('sidecar exited', String(Date.now() - timeline.startedAt));
  timeline.mark('note', 'sidecar: pilot-agent has killed Envoy and exited');
  const said = (await readFile(envoy.logFile, 'utf8').catch(() => '')).slice(logFrom).split('\n');
  const failed = said.find((l) => l.includes('Error in invoking drain listeners endpoint'));
  const draining = said.some((l) => l.includes('Agent draining Proxy for termination'));
  note('sidecar drain', failed ? `pilot-agent: ${failed.trim()}` : draining ? 'pilot-agent: POST /drain_listeners?inboundonly&graceful (no error in its log)' : 'pilot-agent did not log its drain');
  note('sidecar server.state after the drain call', String(state ?? 'unknown'));
  for (const l of said) {
    const still = /There are still (\d+) active connections/.exec(l);
    if (still) note('sidecar active connections', still[1]!);
    else if (l.includes('There are no more active connections')) note('sidecar active connections', '0');
  }
  note('sidecar active connections at exit', String(lastActive ?? 'unknown'));
  note('pilot-agent said', said.filter((l) => /\tinfo\t|\twarn\t/.test(l) && !l.includes('envoy ')).map((l) => l.replace(/^\S+\t\w+\t/, '')).join(' | ').slice(0, 600));
}
