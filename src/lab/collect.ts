/**
 * The end of a phase: read every source of evidence once (Envoy's stats, config and access log,
 * the faults' counters, the timeline), write the artifacts a person reads, and return the
 * evidence as data. A source that cannot be read is recorded as null (missing), never as empty.
 */
import { cp, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from '../envoy/admin.js';
import { readAccessLog } from '../envoy/access-log.js';
import type { Envoy } from '../envoy/envoy.js';
import type { EvidenceData, FaultRecord } from '../evidence/evidence.js';
import { saveEvidence } from '../evidence/store.js';
import { proxyConfigText } from '../envoy/proxy-config.js';
import type { Timeline } from '../timeline/timeline.js';

export interface PhaseSources {
  scenario: string;
  phase: string;
  /** Undefined when the sidecar never started: its evidence is then missing, not empty. */
  envoy: Envoy | undefined;
  envoyVersion: string;
  statsBefore: Stats | null;
  timeline: Timeline;
  served: Record<string, number>;
  readFaults: () => Promise<FaultRecord[]>;
  ips: Record<string, string>;
  snapshots: Record<string, string>;
  artifactsDir: string;
  /** Another pod's own sidecar: its access log and counters are evidence too. */
  peer?: { host: string; envoy: Envoy };
  /** Why the lab's own client's request records are absent (--app-only). */
  labClientAbsent?: string;
}

const orNull = async <T>(p: Promise<T>): Promise<T | null> => p.catch(() => null);
const asObject = (s: Stats | null) => (s ? Object.fromEntries(s) : null);

/** istioctl's view of the sidecar, for a person; an unexpected dump must not cost the phase its evidence. */
function proxyConfigFile(configDump: string): string {
  try {
    return `${proxyConfigText(JSON.parse(configDump), 'all')}\n`;
  } catch (err) {
    return `proxy-config could not be rendered from config_dump.json: ${(err as Error).message}\n`;
  }
}

export async function collectEvidence(src: PhaseSources): Promise<EvidenceData> {
  const dir = src.artifactsDir;
  await mkdir(dir, { recursive: true });
  const envoy = src.envoy;
  const statsAfter = envoy ? await orNull(envoy.admin.stats()) : null;
  const configDump = envoy ? await orNull(envoy.admin.configDump()) : null;
  const clusters = envoy ? await orNull(envoy.admin.clusters()) : null;
  const faults = await src.readFaults();
  const peerStats = src.peer ? await orNull(src.peer.envoy.admin.stats()) : null;
  await Promise.all([envoy?.stop(), src.peer?.envoy.stop()]); // flushes the access logs
  const accessLog = envoy ? await readAccessLog(envoy.accessLogPath) : null;
  const data: EvidenceData = {
    scenario: src.scenario,
    phase: src.phase,
    envoyVersion: src.envoyVersion,
    timeline: { startedAt: src.timeline.startedAt, entries: src.timeline.entries },
    accessLog,
    statsBefore: asObject(src.statsBefore),
    statsAfter: asObject(statsAfter),
    faults,
    served: { ...src.served },
    ips: src.ips,
    snapshots: { ...src.snapshots },
    configDump,
    ...(src.peer ? { peerSidecar: { host: src.peer.host, accessLog: await readAccessLog(src.peer.envoy.accessLogPath), stats: asObject(peerStats) } } : {}),
    ...(src.labClientAbsent ? { labClientAbsent: src.labClientAbsent } : {}),
    ...(envoy?.viaAgent ? { deferredClusterStats: true } : {}),
  };
  await Promise.all([
    saveEvidence(dir, data),
    configDump !== null && writeFile(join(dir, 'config_dump.json'), configDump),
    configDump !== null && writeFile(join(dir, 'proxy-config.txt'), proxyConfigFile(configDump)),
    clusters !== null && writeFile(join(dir, 'clusters.json'), clusters),
    writeFile(join(dir, 'stats-before.json'), JSON.stringify(data.statsBefore, null, 1)),
    writeFile(join(dir, 'stats-after.json'), JSON.stringify(data.statsAfter, null, 1)),
    writeFile(join(dir, 'timeline.jsonl'), src.timeline.entries.map((e) => JSON.stringify(e)).join('\n') + '\n'),
  ]);
  return data;
}

/** What the lab wrote (configs, Envoy's log, access log, agent logs), kept with the run's artifacts. */
export async function keepLabFiles(workDir: string, artifactsDir: string): Promise<void> {
  await cp(workDir, artifactsDir, {
    recursive: true,
    // Unix sockets (the admin relay's, pilot-agent's XDS and SDS sockets) cannot be copied: one would end the copy half-way.
    filter: async (src) => !src.endsWith('.tmp') && !src.endsWith('owner.pid') && !(await lstat(src).then((st) => st.isSocket() || st.isFIFO()).catch(() => true)),
  }).catch(() => {});
}
