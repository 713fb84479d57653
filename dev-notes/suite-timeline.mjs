#!/usr/bin/env node
// Where a suite's wall time went, from the scheduler's trace (LAB_SCHEDULER_TRACE=<file>) and,
// optionally, `vmstat -n -t 5` sampled beside it:
//   node dev-notes/suite-timeline.mjs trace.jsonl [vmstat.log]
// Prints the span of phase runs, the time with none running, with a run that needs the machine
// alone, how many ran at once, the CPU idle share over the span, and the longest runs by kind.
import { readFileSync } from 'node:fs';

const [traceFile, vmstatFile] = process.argv.slice(2);
if (!traceFile) {
  console.error('usage: node dev-notes/suite-timeline.mjs trace.jsonl [vmstat.log]');
  process.exit(2);
}
const events = readFileSync(traceFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const runs = new Map();
for (const e of events) {
  if (e.ev === 'start') runs.set(e.id, { ...e, start: e.t });
  else if (e.ev === 'end' && runs.has(e.id)) runs.get(e.id).end = e.t;
}
const all = [...runs.values()].filter((r) => r.end);
const t0 = Math.min(...all.map((r) => r.start));
const t1 = Math.max(...all.map((r) => r.end));
const s = (ms) => `${(ms / 1000).toFixed(0)} s`;

// A sweep over starts and ends: how long each count of runs at once lasted, and alone time.
const points = all.flatMap((r) => [[r.start, 1, r], [r.end, -1, r]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
const atOnce = new Map();
let n = 0;
let alone = 0;
let aloneMs = 0;
let last = t0;
for (const [t, d, r] of points) {
  atOnce.set(n, (atOnce.get(n) ?? 0) + (t - last));
  if (alone > 0) aloneMs += t - last;
  last = t;
  n += d;
  if (r.alone) alone += d;
}
console.log(`phase runs: ${all.length} over ${s(t1 - t0)} (first start to last end)`);
console.log(`none running: ${s(atOnce.get(0) ?? 0)}; a run that needs the machine alone: ${s(aloneMs)}`);
console.log(`runs at once (time): ${[...atOnce].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${s(v)}`).join(', ')}`);

const kind = (r) => {
  const [backend, , ...rest] = r.label.split(' ');
  return `${backend}${rest.join(' ').includes('--istio') ? ' --istio' : ''}${r.alone ? ' alone' : ''}`;
};
const byKind = new Map();
for (const r of all) {
  const k = kind(r);
  const v = byKind.get(k) ?? { count: 0, ms: 0, waited: 0 };
  v.count++;
  v.ms += r.end - r.start;
  v.waited += r.waitedMs ?? 0;
  byKind.set(k, v);
}
console.log('by kind: runs, lab wall time summed, queue wait summed');
for (const [k, v] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${k.padEnd(22)} ${String(v.count).padStart(4)} ${s(v.ms).padStart(8)} ${s(v.waited).padStart(8)}`);
console.log('longest runs:');
for (const r of all.sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, 15)) console.log(`  ${s(r.end - r.start).padStart(6)} ${r.label}${r.alone ? ' (alone)' : ''}`);

if (vmstatFile) {
  // vmstat -n -t: ... us sy id wa st YYYY-MM-DD HH:MM:SS
  const rows = readFileSync(vmstatFile, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 19 && /^\d+$/.test(f[0]));
  const within = rows.map((f) => ({ t: Date.parse(`${f[17]}T${f[18]}Z`), us: +f[12], sy: +f[13], id: +f[14], wa: +f[15] })).filter((r) => r.t >= t0 && r.t <= t1);
  const avg = (k) => within.reduce((a, r) => a + r[k], 0) / Math.max(1, within.length);
  console.log(`CPU over the span (${within.length} samples): user ${avg('us').toFixed(0)} %, system ${avg('sy').toFixed(0)} %, idle ${avg('id').toFixed(0)} %, iowait ${avg('wa').toFixed(0)} %`);
}
