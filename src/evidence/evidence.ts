/**
 * Everything one phase recorded, as plain data (stored as evidence.json with the phase's
 * artifacts), and the only way checks read it. Absent evidence is never a zero: a counter Envoy
 * does not have, a missing access-log file, a connection table nobody took, a marker the scenario
 * never set — each throws EvidenceMissing, which a check turns into UNKNOWN, naming what was
 * missing. That is what makes "=== 0" checks unable to pass on a misspelled stat.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import { Timeline, USER_APP_STARTED, type MarkerCategory, type TimelineEntry } from '../timeline/timeline.js';

export interface FaultRecord {
  host: string;
  fault: string;
  /** How many times the kernel (or the instrument) applied it: dropped SYNs, resets sent, … */
  fired: number;
  detail: string;
}

/** A phase's evidence as stored on disk. `null` = that source produced nothing (e.g. no file). */
export interface EvidenceData {
  scenario: string;
  phase: string;
  envoyVersion: string;
  timeline: { startedAt: number; entries: TimelineEntry[] };
  accessLog: AccessLogEntry[] | null;
  /** Envoy's full /stats snapshots (counters and gauges) at the start and the end of the phase. */
  statsBefore: Record<string, number> | null;
  statsAfter: Record<string, number> | null;
  /** One record per fault the scenario injected, read back from the kernel or the instrument. */
  faults: FaultRecord[];
  /** Requests each upstream host served. */
  served: Record<string, number>;
  /** Lab addresses by host name. */
  ips: Record<string, string>;
  /** Connection tables (`ss -tanp` in the pod) taken during the phase, by label. */
  snapshots: Record<string, string>;
  /** Envoy's /config_dump at the end of the phase (JSON text): what it really ran. */
  configDump: string | null;
  /** Another pod's own sidecar (world.peerSidecar): its access log and its counters at the end (it started with the lab). */
  peerSidecar?: { host: string; accessLog: AccessLogEntry[] | null; stats: Record<string, number> | null };
  /** --istio: the Istio whose istiod generated the config (a module pseudo-version). */
  istioVersion?: string;
  /**
   * The sidecars ran on Istio's own bootstrap (pilot-agent), whose deferred_stat_options create a
   * cluster's traffic stats on its first use: an absent counter of a cluster Envoy has is a 0.
   */
  deferredClusterStats?: boolean;
  /** Set when the lab's own client did not run (--app-only): its request records are missing, not empty. */
  labClientAbsent?: string;
}

/** Raised when a check reads evidence the phase does not have; judged UNKNOWN, never PASS. */
export class EvidenceMissing extends Error {
  override name = 'EvidenceMissing';
}

export class Evidence {
  readonly timeline: Timeline;

  constructor(readonly data: EvidenceData) {
    this.timeline = Timeline.from(data.timeline);
    const absent = data.labClientAbsent;
    if (absent) {
      // A check on the app's requests is then UNKNOWN, never judged on an empty list.
      this.timeline.requests = () => {
        throw new EvidenceMissing(`the app's request records: ${absent}`);
      };
    }
  }

  /** The lab's client ran and sent nothing (with --app-only its records are missing instead: not "nothing"). */
  get appSentNothing(): boolean {
    return !this.data.labClientAbsent && this.timeline.requests().length === 0;
  }

  get envoyVersion(): string {
    return this.data.envoyVersion;
  }

  get faults(): FaultRecord[] {
    return this.data.faults;
  }

  /** Envoy's JSON access log (HTTP requests and TCP connections). */
  get accessLog(): AccessLogEntry[] {
    if (this.data.accessLog === null) throw new EvidenceMissing("Envoy's access log: the file was missing at the end of the phase");
    return this.data.accessLog;
  }

  get configDump(): string {
    if (this.data.configDump === null) throw new EvidenceMissing("Envoy's /config_dump: it could not be read");
    return this.data.configDump;
  }

  /**
   * How many programs played the app in the pod: the lab's client (unless --app-only) and your
   * own (--app). Each keeps its own downstream connection, so "one connection" means one per app.
   */
  get appsInPod(): number {
    const yours = this.timeline.events(USER_APP_STARTED).length > 0 ? 1 : 0;
    return Math.max(1, (this.data.labClientAbsent ? 0 : 1) + yours);
  }

  /** The other pod's sidecar's access log (what it decided about each connection and request it saw). */
  get peerAccessLog(): AccessLogEntry[] {
    const s = this.data.peerSidecar;
    if (!s) throw new EvidenceMissing("the other pod's sidecar access log: the phase ran no peer sidecar");
    if (!s.accessLog) throw new EvidenceMissing("the other pod's sidecar access log: its file could not be read");
    return s.accessLog;
  }

  /** A counter of the other pod's sidecar (from zero: it started with the lab). */
  peerCounter(name: string): number {
    const stats = this.data.peerSidecar?.stats;
    if (!stats) throw new EvidenceMissing(`the peer sidecar's counter ${name}: no peer sidecar stats were read`);
    if (!(name in stats)) {
      if (this.neverUsed(stats, name)) return 0;
      throw new EvidenceMissing(`the peer sidecar's counter ${name}: it has no such stat (${Object.keys(stats).length} stats present)`);
    }
    return stats[name]!;
  }

  /** A lab host's address. */
  ip(host: string): string {
    const ip = this.data.ips[host];
    if (!ip) throw new EvidenceMissing(`the address of host "${host}": the lab has no such host`);
    return ip;
  }

  /** How much an Envoy counter grew over the phase. Absent from Envoy's stats → EvidenceMissing. */
  counter(name: string): number {
    const { statsBefore, statsAfter } = this.data;
    if (!statsAfter || !statsBefore) throw new EvidenceMissing(`Envoy counter ${name}: no stats snapshot was taken`);
    if (!(name in statsAfter)) {
      if (this.neverUsed(statsAfter, name)) return 0;
      throw new EvidenceMissing(`Envoy counter ${name}: Envoy has no such stat (misspelled, an unknown cluster, or stats disabled; ${Object.keys(statsAfter).length} stats present)`);
    }
    return statsAfter[name]! - (statsBefore[name] ?? 0);
  }

  /**
   * Under Istio's bootstrap, a counter of a cluster that Envoy has (its membership_total exists,
   * created with the cluster) but that is absent was never incremented: deferred, not missing.
   */
  private neverUsed(stats: Record<string, number>, name: string): boolean {
    if (!this.data.deferredClusterStats || !name.startsWith('cluster.')) return false;
    return Object.keys(stats).some((k) => k.endsWith('.membership_total') && name.startsWith(k.slice(0, -'membership_total'.length)));
  }

  /** Requests an upstream host served; unknown host → EvidenceMissing. */
  served(host: string): number {
    const n = this.data.served[host];
    if (n === undefined) throw new EvidenceMissing(`requests served by "${host}": the lab has no such upstream server`);
    return n;
  }

  /** A connection table the scenario took with snapshotConnections(label). */
  snapshot(label: string): string {
    const s = this.data.snapshots[label];
    if (s === undefined) throw new EvidenceMissing(`the connection table "${label}": the phase never took it`);
    return s;
  }

  /** Absolute time of the first marker of a category (with `label`: the first with that label). */
  markerAt(category: MarkerCategory, label?: string): number {
    const m = label === undefined ? this.timeline.marker(category) : this.timeline.markers().find((x) => x.category === category && x.label === label);
    if (!m) throw new EvidenceMissing(`a "${category}" marker${label ? ` "${label}"` : ''} on the timeline: the phase never did that step`);
    return this.timeline.startedAt + m.t;
  }

  /** The last value the scenario noted under `what` (lab.note), as text. */
  note(what: string): string {
    const e = this.timeline.events(what).at(-1);
    if (!e) throw new EvidenceMissing(`the note "${what}": the phase never recorded it`);
    return e.detail;
  }

  /** Every number noted under `what`, in order (a series, e.g. a gauge sampled each cycle). */
  noteSeries(what: string): number[] {
    const values = this.timeline.events(what).map((e) => Number(e.detail));
    if (values.length === 0) throw new EvidenceMissing(`the series "${what}": the phase never recorded it`);
    if (values.some((n) => !Number.isFinite(n))) throw new EvidenceMissing(`the series "${what}": not every sample is a number (${this.timeline.events(what).map((e) => e.detail).join(', ')})`);
    return values;
  }

  /** A noted number; a note that is not a number is missing evidence (e.g. "absent"). */
  noteNumber(what: string): number {
    const text = this.note(what);
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new EvidenceMissing(`the note "${what}" as a number: it says "${text}"`);
    return n;
  }
}
