/**
 * One scheduler for the whole machine: every phase run, in any process of the lab (npm run
 * scenario, matrix, bench, each vitest worker), asks here before its lab starts, so runs side by
 * side never hold more CPU than the machine has, whoever started them. The ledger is a file
 * under the lab's run directory, changed under a lock file; an entry whose process died is
 * dropped. First come, first served, with one exception that keeps the machine busy: a run that
 * fits may start ahead of an earlier one that does not, unless that one needs the machine alone
 * (it would wait for ever).
 *
 * A run asks for its cores (phase-load.ts). It fits when nothing runs, or when nothing running is
 * alone and the cores in use plus its own stay within the budget: the machine's cores times
 * CPU_SHARE. `alone` fits only an empty machine. `forced` (--parallel N) ignores the cores: the
 * caller chose the count itself; it still never runs beside an `alone` run.
 */
import { untilQuiet } from './quiet-machine.js';
import { trace } from './trace.js';
import { availableParallelism } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUN_ROOT } from '../paths.js';

/**
 * The share of the machine's cores that phase runs may plan to use. What a run is charged (its
 * lab's cgroup CPU plus its share of the harness's, over its whole wall time) runs above what the
 * machine then shows busy: measured on the 2-core machine, sticky-503's 8 phases at once, charged
 * 1.3 cores in all, left it 59 % idle (0.8 cores busy). 1.0 with lists 12 wide ran the 5-version
 * matrix in 512 s instead of 561 s, but the full suite has been proven at 0.9 only.
 */
export const CPU_SHARE = 0.9;

const DIR = join(RUN_ROOT, 'scheduler');
const LEDGER = join(DIR, 'ledger.json');
const LOCK = join(DIR, 'ledger.lock');
const POLL_MS = 100;
/** A quiet-machine wait longer than one sample is worth telling. */
const SAMPLE_QUIET_NOTE_MS = 1000;

export interface SlotRequest {
  label: string;
  cores: number;
  alone: boolean;
  forced?: boolean;
  /** A lab's start is its busiest moment (topology, agents, Envoy): it counts this much for its first ms. */
  boot?: BootLoad;
  /** Its expected wall time (earlier runs' average), ms: what lets it backfill a drain. */
  expectedMs?: number;
}

export interface BootLoad {
  cores: number;
  ms: number;
  /** The machine's cores one start keeps busy: starts at once are the cores divided by this. */
  coresPerStart: number;
}

/**
 * What a lab's start costs (measured on the 2-core machine: four netns labs started at once
 * took 2.4-3.1 s of overhead each, one alone 0.9 s; a docker lab's hosts are up in 0.7-1.2 s,
 * most of it dockerd's work, which no cgroup of the lab counts). Counting it keeps starts a little
 * apart instead of all contending at once. A netns lab's start is 0.6-0.8 s since its hosts are
 * made in two `ip -batch` rounds (bench, one at a time: prepare 31, hosts and agents 309,
 * servers 31, intercept 77, sidecar 124 ms).
 *
 * How many start at once (`coresPerStart`): one per core, for both. A start keeps a core busy
 * (a netns start: its agents' node start, Envoy's threads, the harness; a docker start: mostly the
 * engine's work, dockerd's goroutines, runc, its shims). Two netns starts side by side are each
 * slower (sticky-503 packed: 1453 ms of overhead per phase, against 876-963 ms one at a time), but
 * two end in 1.45 s where one after the other take 1.8-1.9 s: the suite's many short runs need
 * starts per second (the --istio suite's 2-s runs, measured one netns start at a time: 2-3 labs
 * at once and the machine 35-53 % idle for 3 minutes). Docker, one at a time, was worse too
 * (2488 ms packed, against 1559-1865 two at a time).
 */
export const BOOT_LOAD: Record<'netns' | 'docker', BootLoad> = { netns: { cores: 0.6, ms: 700, coresPerStart: 1 }, docker: { cores: 0.9, ms: 1200, coresPerStart: 1 } };

/** Labs that may be starting at once beside a start of this kind: the machine's cores by what one start keeps busy. */
export const maxStartsAtOnce = (boot: BootLoad, budget: number) => Math.max(1, Math.floor(Math.round(budget / CPU_SHARE) / boot.coresPerStart));

const starting = (r: SlotRequest & { startedAt?: number }, now: number) => !!r.boot && (r.startedAt === undefined || now - r.startedAt < r.boot.ms);

interface Entry extends SlotRequest {
  id: string;
  pid: number;
  since: number;
  /** When it was given its start. */
  startedAt?: number;
}

export interface Ledger {
  running: Entry[];
  waiting: Entry[];
}

export const machineBudget = () => availableParallelism() * CPU_SHARE;

/** How many runs of `cores` each the budget holds: the default width of a run's own pool. */
export const defaultParallelism = (cores: number) => Math.max(1, Math.floor(machineBudget() / cores + 1e-9));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(DIR, { recursive: true });
  for (let i = 0; ; i++) {
    try {
      const h = await open(LOCK, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A holder that died, or hung for seconds (the lock is held for a read and a write), is gone.
      const holder = Number(await readFile(LOCK, 'utf8').catch(() => '0'));
      const age = Date.now() - ((await stat(LOCK).catch(() => undefined))?.mtimeMs ?? Date.now());
      if ((holder && !alive(holder)) || age > 5000) await rm(LOCK, { force: true });
      await sleep(i < 20 ? 5 : 25);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK, { force: true });
  }
}

async function readLedger(): Promise<Ledger> {
  const l = (await readFile(LEDGER, 'utf8').then((t) => JSON.parse(t) as Ledger).catch(() => undefined)) ?? { running: [], waiting: [] };
  return { running: l.running.filter((e) => alive(e.pid)), waiting: l.waiting.filter((e) => alive(e.pid)) };
}

async function writeLedger(l: Ledger): Promise<void> {
  const tmp = `${LEDGER}.${process.pid}`;
  await writeFile(tmp, JSON.stringify(l));
  await rename(tmp, LEDGER);
}

/** The cores a run counts for now: its boot load while it starts (a run not yet started is about to). */
export const effectiveCores = (r: SlotRequest & { startedAt?: number }, now: number) => (starting(r, now) ? Math.max(r.cores, r.boot!.cores) : r.cores);

/** Would `e` fit beside `running` (plus the runs already promised a start)? */
export function fits(e: SlotRequest, running: Array<SlotRequest & { startedAt?: number }>, budget: number, now = Date.now()): boolean {
  if (!running.length) return true;
  if (e.alone || running.some((r) => r.alone)) return false;
  if (e.forced) return true;
  if (e.boot && running.filter((r) => starting(r, now)).length >= maxStartsAtOnce(e.boot, budget)) return false;
  return running.reduce((s, r) => s + effectiveCores(r, now), 0) + effectiveCores(e, now) <= budget + 1e-9;
}

/**
 * When the runs under way are expected to have ended (the latest start + expected wall time):
 * the moment a waiting alone run gets the machine. Undefined when a run's duration is unknown.
 */
function drainEnd(running: Array<SlotRequest & { startedAt?: number }>, now: number): number | undefined {
  let end = now;
  for (const r of running) {
    if (r.expectedMs === undefined) return undefined;
    end = Math.max(end, (r.startedAt ?? now) + r.expectedMs);
  }
  return end;
}

/** Which waiting entries may start now, in order (pure: the policy above). */
export function admissible(l: Ledger, budget: number, now = Date.now()): Entry[] {
  const planned: Entry[] = [...l.running];
  const start: Entry[] = [];
  /** Set once an alone run is waiting for a drain: later runs start only if expected to end by then. */
  let drain: number | undefined;
  // Runs that need the machine alone first, in their order: one drain serves them all, back to
  // back, instead of a drain each between long runs that arrived in between (measured in a full
  // suite: 6 minutes at 48-79 % idle with the lists' alone runs interleaved with 17-44 s runs).
  for (const w of [...l.waiting.filter((e) => e.alone), ...l.waiting.filter((e) => !e.alone)]) {
    const backfills = drain === undefined || (!w.alone && w.expectedMs !== undefined && now + w.expectedMs <= drain);
    if (backfills && fits(w, planned, budget, now)) {
      planned.push(w);
      start.push(w);
    } else if (w.alone && drain === undefined) {
      // Nobody delays a run that needs the machine alone: without a known drain end, nothing overtakes it.
      drain = drainEnd(planned, now);
      if (drain === undefined) break;
    }
  }
  return start;
}

export interface Slot {
  /** How long it waited for its start. */
  waitedMs: number;
  release(): Promise<void>;
}

/** Waits until the machine has room for the run, then holds its place until release(). */
export async function acquireSlot(req: SlotRequest, onWait?: (why: string) => void): Promise<Slot> {
  const entry: Entry = { ...req, id: `${process.pid}-${Math.random().toString(36).slice(2, 10)}`, pid: process.pid, since: Date.now() };
  const budget = machineBudget();
  await withLock(async () => {
    const l = await readLedger();
    l.waiting.push(entry);
    await writeLedger(l);
  });
  let told = false;
  for (;;) {
    const started = await withLock(async () => {
      const l = await readLedger();
      if (!admissible(l, budget).some((e) => e.id === entry.id)) {
        await writeLedger(l); // dead entries dropped
        return { ok: false, running: l.running };
      }
      l.waiting = l.waiting.filter((e) => e.id !== entry.id);
      l.running.push({ ...entry, startedAt: Date.now() });
      await writeLedger(l);
      return { ok: true, running: l.running };
    });
    if (started.ok) break;
    if (!told && onWait) {
      told = true;
      const used = started.running.reduce((s, r) => s + effectiveCores(r, Date.now()), 0);
      onWait(`waiting for the machine: ${started.running.length} run(s) under way (${used.toFixed(2)} of ${budget.toFixed(1)} cores${started.running.some((r) => r.alone) ? ', one needs it alone' : ''}); this one needs ${req.alone ? 'it alone' : `${req.cores.toFixed(2)} cores`}`);
    }
    await sleep(POLL_MS);
  }
  if (req.alone) {
    const q = await untilQuiet();
    if (q.waitedMs > SAMPLE_QUIET_NOTE_MS) onWait?.(`waited ${(q.waitedMs / 1000).toFixed(1)} s for the machine to be quiet (idle ${q.idle === undefined ? '?' : Math.round(q.idle * 100)} %) before a run that needs it alone`);
  }
  const waitedMs = Date.now() - entry.since;
  await trace({ ev: 'start', id: entry.id, label: req.label, cores: req.cores, alone: req.alone, waitedMs });
  let released = false;
  return {
    waitedMs,
    async release() {
      if (released) return;
      released = true;
      await trace({ ev: 'end', id: entry.id });
      await withLock(async () => {
        const l = await readLedger();
        l.running = l.running.filter((e) => e.id !== entry.id);
        l.waiting = l.waiting.filter((e) => e.id !== entry.id);
        await writeLedger(l);
      });
    },
  };
}
