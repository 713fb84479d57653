/**
 * What a phase run needs of the machine, in cores: declared by the phase (`load`), else measured
 * on earlier runs here (the CPU its lab's processes used over its wall time, kept per backend in
 * the lab cache), else the common figure. A phase that must run on a quiet machine (steady load,
 * millisecond sweeps) declares `load: 'alone'`.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CACHE_ROOT } from '../paths.js';
import { MEASURED_LOAD } from './measured-load.js';

/** Phase.load: 'alone', or the cores it keeps busy when that is known better than a measurement. */
export type PhaseLoad = 'alone' | { cores: number };

export interface LoadRequest {
  /** Cores it is expected to keep busy, on average over its run. */
  cores: number;
  /** Nothing else may run beside it. */
  alone: boolean;
  /** Where the figure came from: "declared", "measured on 3 earlier runs", "the common figure". */
  source: string;
  /** Expected wall time (ms) when measured before: longest first packs best. */
  wallMs?: number;
}

/**
 * The common figure before anything was measured here, and the floor of every measurement: a
 * phase's Envoy (one worker), its agents and the harness's share, averaged over its run, plus
 * what no cgroup counts (the kernel's softirqs; on docker, its daemon's work). Measured on
 * sticky-503 (phase-load.json): 0.11-0.14 cores on netns, 0.10-0.15 on docker; 0.2 on netns lets
 * its 8 phases run at once on the 2-core machine (0.25 held them to 7, and the eighth waited for a
 * first to end: 1.53x its longest phase against 1.40x). Its start counts extra (BOOT_LOAD).
 */
export const COMMON_CORES = { netns: 0.2, docker: 0.35 } as const;

export const LOAD_FILE = join(CACHE_ROOT, 'phase-load.json');

interface Measured {
  cores: number;
  wallMs: number;
  runs: number;
}

type Store = Record<string, Measured>;

/** The name a phase run's load is kept under: Istio mode and a third-party client load the machine differently. */
export const phaseLoadKey = (phase: string, o: { istio?: boolean | string; client?: string } = {}) => `${phase}${o.istio ? ' --istio' : ''}${o.client ? ` --client ${o.client}` : ''}`;

const key = (backend: string, scenario: string, phase: string) => `${backend}/${scenario}/${phase}`;

let cache: Promise<Store> | undefined;
const load = () => (cache ??= readFile(LOAD_FILE, 'utf8').then((t) => JSON.parse(t) as Store).catch((): Store => ({})));

/** What the CI machine measured (measured-load.ts), where this machine has measured nothing yet. */
function measuredOnCi(k: string): Measured | undefined {
  const m = MEASURED_LOAD[k];
  return m && { cores: m[0], wallMs: m[1], runs: 0 };
}

export async function loadRequest(o: { backend: 'netns' | 'docker'; scenario: string; phase: string; declared?: PhaseLoad }): Promise<LoadRequest> {
  const k = key(o.backend, o.scenario, o.phase);
  const measured = (await load())[k] ?? measuredOnCi(k);
  if (o.declared === 'alone') return { cores: measured?.cores ?? COMMON_CORES[o.backend], alone: true, source: 'declared: alone', wallMs: measured?.wallMs };
  if (o.declared) return { cores: o.declared.cores, alone: false, source: 'declared', wallMs: measured?.wallMs };
  // A measurement never charges less than the common figure: the lab's cgroup and the harness's
  // share miss work done for the lab elsewhere (dockerd and its shims, the kernel's softirqs).
  // Runs packed by their measured 0.15-0.18 cores overloaded the machine and timing checks
  // failed on docker (three full suites); by the common figure, the same suite passed.
  if (measured) return { cores: Math.max(measured.cores, COMMON_CORES[o.backend]), alone: false, source: `${measured.runs ? `measured on ${measured.runs} earlier run(s)` : 'measured on the CI machine'}, at least the common figure`, wallMs: measured.wallMs };
  return { cores: COMMON_CORES[o.backend], alone: false, source: 'the common figure' };
}

/**
 * Records a run's CPU (its lab's processes, summed) over its wall time. A moving average of the
 * last runs; written by rename so concurrent writers never leave half a file (the last one wins).
 */
export async function recordLoad(o: { backend: 'netns' | 'docker'; scenario: string; phase: string; cpuMs: number; wallMs: number }): Promise<void> {
  if (!(o.wallMs > 0) || !(o.cpuMs >= 0)) return;
  const fresh: Store = await readFile(LOAD_FILE, 'utf8').then((t) => JSON.parse(t) as Store).catch(() => ({}));
  const k = key(o.backend, o.scenario, o.phase);
  const before = fresh[k];
  const cores = o.cpuMs / o.wallMs;
  const n = Math.min((before?.runs ?? 0) + 1, 5);
  fresh[k] = before ? { cores: before.cores + (cores - before.cores) / n, wallMs: Math.round(before.wallMs + (o.wallMs - before.wallMs) / n), runs: before.runs + 1 } : { cores, wallMs: o.wallMs, runs: 1 };
  fresh[k].cores = Number(fresh[k].cores.toFixed(3));
  await mkdir(dirname(LOAD_FILE), { recursive: true });
  const tmp = `${LOAD_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, JSON.stringify(fresh, null, 1));
  await rename(tmp, LOAD_FILE);
  cache = Promise.resolve(fresh);
}
