/**
 * npm run bench -- [scenario ...] [--repeat N] [--envoy <version>] [--backend kind] [--out file.json]
 * Runs scenario phases and records where the time goes, per phase: topology up, Envoy start →
 * ready, the scenario's own scripted waits, teardown, and the lab's overhead (wall − scripted).
 * Targets on a 2-core machine: overhead < 1.5 s per phase on netns, < 4 s on docker (images present).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { UsageError } from '../errors.js';
import { REPO_ROOT } from '../paths.js';
import { bold, green, red } from '../report/console.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import type { PhaseResult } from '../scenario/run-phase.js';
import { runScenario } from '../scenario/run-scenario.js';
import { resolveBackendKind } from '../topology/create-backend.js';
import { main } from './main.js';
import { teardownOnSignals } from './signals.js';

const OVERHEAD_TARGET_MS = 1500;
const DOCKER_OVERHEAD_TARGET_MS = 4000;

await main(async () => {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { repeat: { type: 'string', default: '1' }, envoy: { type: 'string', default: DEFAULT_ENVOY_VERSION }, out: { type: 'string' }, backend: { type: 'string', default: 'auto' } } });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!, 'usage: npm run bench -- [scenario ...] [--repeat N] [--envoy <version>] [--backend netns|docker|auto] [--out file.json]');
  }
  const ids = parsed.positionals.length ? parsed.positionals : scenarioIds();
  const repeat = Number(parsed.values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError(`--repeat must be a positive whole number, got "${parsed.values.repeat}"`);
  const backend = await resolveBackendKind(parsed.values.backend);
  const target = backend === 'docker' ? DOCKER_OVERHEAD_TARGET_MS : OVERHEAD_TARGET_MS;
  teardownOnSignals();
  const envoy = await ensureEnvoy(parsed.values.envoy, (l) => process.stderr.write(`${l}\n`));
  const machine = { cpus: (await $`nproc`).stdout.trim(), kernel: (await $`uname -r`).stdout.trim(), node: process.version };

  const rows: Array<Record<string, number | string>> = [];
  const started = Date.now();
  for (const id of ids) {
    const scenario = await loadScenario(id);
    process.stderr.write(`bench: ${id} (${scenario.phases.length} phases × ${repeat})\n`);
    const { results } = await runScenario(scenario, { envoy, repeat, backend });
    rows.push(...results.map(row));
  }
  const totalMs = Date.now() - started;
  const file = parsed.values.out ?? join(REPO_ROOT, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, JSON.stringify({ backend, envoy: envoy.banner, machine, repeat, totalMs, overheadTargetMs: target, phases: rows }, null, 2));

  const cols = ['scenario', 'phase', 'status', 'topologyUpMs', 'envoyReadyMs', 'scriptedMs', 'teardownMs', 'wallMs', 'overheadMs'];
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => (i < 3 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${bold(line(cols))}\n`);
  for (const r of rows) {
    const over = Number(r.overheadMs) < target ? green(String(r.overheadMs)) : red(String(r.overheadMs));
    process.stdout.write(`${line(cols.map((c) => String(r[c])))}`.replace(new RegExp(`${r.overheadMs}$`), over) + '\n');
  }
  const worst = Math.max(...rows.map((r) => Number(r.overheadMs)));
  process.stdout.write(`\nall phases: ${(totalMs / 1000).toFixed(1)} s; worst overhead ${worst} ms (target on ${backend}: < ${target} ms); written to ${file}\n`);
  return 0;
});

function row(r: PhaseResult): Record<string, number | string> {
  const t = r.timings;
  return {
    scenario: r.scenario,
    phase: r.iteration > 1 ? `${r.phase}#${r.iteration}` : r.phase,
    status: r.status,
    topologyUpMs: t.topologyUpMs,
    envoyReadyMs: t.envoyReadyMs,
    scriptedMs: t.scriptedMs,
    teardownMs: t.teardownMs,
    wallMs: t.wallMs,
    overheadMs: t.wallMs - t.scriptedMs,
  };
}
