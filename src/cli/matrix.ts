/**
 * npm run matrix -- [--envoy 1.36.4,1.40.0|all] [--scenario a,b] [--backend kind] [--repeat N] [--parallel N] [--shard i/n]
 * npm run matrix -- --istio pinned,latest [--envoy 1.40.0] …   (columns: the Istios, on one Envoy)
 * npm run matrix -- merge <matrix.json ...> [--out dir]
 * The regression suite for an Envoy upgrade: every phase of every scenario on every listed
 * version, as a table of what happened where. Exit 0 iff every cell is what its scenario declares
 * for that version (reproduced / fixed / gone from its version on / n/a below its minimum).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveBackendKind } from '../backends/create-backend.js';
import { assertInstallable, distinctReleases, installableVersions, NOT_OFFICIAL_BINARY } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { UsageError } from '../errors.js';
import { MATRIX_LEGEND, matrixAsDeclared, matrixTable, mergeMatrices, type MatrixData } from '../matrix/matrix-table.js';
import { MATRIX_REPORT_FILE, writeMatrixReport } from '../matrix/matrix-report.js';
import { parseShard, planMatrix } from '../matrix/plan.js';
import { runMatrix } from '../matrix/run-matrix.js';
import { stderrColors as err, stdoutColors as out } from '../report/colors.js';
import { statusText } from '../report/console.js';
import { RUNS_DIR } from '../paths.js';
import { configsDir } from '../envoy/configs-dir.js';
import { latestIstio, pinnedIstio } from '../istio/istiod-binary.js';
import { compareIstioVersions } from '../istio/istio-version.js';
import { addScenarioDir, loadScenario, scenarioIds } from '../scenario/registry.js';
import { assertScenarioPrerequisites } from '../scenario/prerequisites.js';
import { cliCommand, commaList, main, wholeNumber } from './main.js';
import { scheduleForRuns } from '../scheduler/run-scheduled.js';
import { teardownOnSignals } from './signals.js';

let exitCode = 0;

function printMatrix(data: MatrixData, where: string) {
  process.stdout.write(`\n${matrixTable(data, out)}\n\n${out.dim(MATRIX_LEGEND)}\n\n${where}\n`);
  exitCode = matrixAsDeclared(data) ? 0 : 1;
}

const program = cliCommand('npm run matrix --', 'Every phase of every scenario on every listed Envoy version: which failures still bite, which fixes still work.')
  .option('--envoy <versions>', `comma-separated versions, or "all" (every installable one)`, commaList)
  .option('--scenario <ids>', 'only these scenarios (comma-separated; default: all)', commaList)
  .option('--scenarios <dir>', "add your own scenario files from this folder (e.g. ./incidents) to the lab's")
  .option('--backend <kind>', 'netns | docker | auto', process.env.LAB_BACKEND ?? 'auto')
  .option('--repeat <N>', 'run each phase N times per version; a cell passes only N/N', wholeNumber(1, 50), 1)
  .option('--parallel <N>', 'phase runs at once, each in its own lab (default: as many as this machine holds)', wholeNumber(1, 16))
  .option('--shard <i/n>', 'run only the i-th of n equal shares (one CI runner each); combine with `merge`')
  .option('--istio <versions>', 'columns are Istios instead (pinned, latest, or module pseudo-versions, comma-separated), each generating the configs from the Istio YAML, on one Envoy (--envoy, one version)', commaList)
  .addHelpText('after', '\nExamples:\n  npm run matrix -- --envoy 1.36.4,1.40.0\n  npm run matrix -- --envoy all\n  npm run matrix -- --envoy all --shard 1/3      # then: npm run matrix -- merge */matrix.json\n  npm run matrix -- --istio pinned,latest        # the scenarios with Istio YAML, on each Istio\n')
  .action(async (o: { envoy?: string[]; scenario?: string[]; scenarios?: string; backend: string; repeat: number; parallel?: number; shard?: string; istio?: string[] }) => {
    const shard = o.shard ? parseShard(o.shard) : undefined;
    if (o.scenarios) await addScenarioDir(o.scenarios);
    // --istio: by default the scenarios that have Istio YAML (the others would be n/a throughout).
    const ids = o.scenario ?? (o.istio ? scenarioIds().filter((id) => existsSync(join(configsDir(id), 'istio'))) : scenarioIds());
    const unknown = ids.filter((id) => !scenarioIds().includes(id));
    if (unknown.length) throw new UsageError(`no scenario ${unknown.join(', ')}`, { fix: `choose from: ${scenarioIds().join(', ')}` });
    if (o.istio && (o.envoy?.length ?? 1) !== 1) throw new UsageError(`--istio puts the Istios in the columns: give one Envoy (--envoy ${o.envoy![0]}), not ${o.envoy!.length}`, { fix: `npm run matrix -- --istio ${o.istio.join(',')} --envoy ${o.envoy![0]}` });
    const envoyVersions = o.envoy?.includes('all') ? distinctReleases(await installableVersions()) : (o.envoy ?? [DEFAULT_ENVOY_VERSION]);
    for (const v of envoyVersions) await assertInstallable(v);
    const versions = o.istio ? [...new Set(await Promise.all(o.istio.map(async (v) => (v === 'pinned' ? pinnedIstio() : v === 'latest' ? latestIstio() : v))))] : envoyVersions;
    const scenarios = await Promise.all(ids.map(loadScenario));
    const backend = await resolveBackendKind(o.backend, versions[0]!);
    for (const s of scenarios) assertScenarioPrerequisites(s, backend);
    teardownOnSignals();
    const cells = planMatrix(versions, scenarios, o.repeat, shard, o.istio ? compareIstioVersions : undefined);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
    const runDir = join(RUNS_DIR, `${stamp}-matrix${shard ? `-shard-${shard.index}-of-${shard.count}` : ''}`);
    const notOfficial = versions.filter((v) => NOT_OFFICIAL_BINARY[v]);
    process.stderr.write(
      `${err.bold('matrix')}: ${scenarios.length} scenario(s) × ${versions.length} ${o.istio ? `Istio(s) on Envoy ${envoyVersions[0]}` : 'version(s)'} (${versions.join(', ')}) = ${cells.length} phase run(s)${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, ${o.parallel ? `${o.parallel} at a time (--parallel)` : `up to ${(await scheduleForRuns(cells.map((c) => ({ backend, scenario: c.scenario.id, phase: c.phase.name, load: c.phase.load })))).width} at a time (what this machine holds)`}, ${backend}\n` +
        (notOfficial.length ? err.yellow(`note: ${notOfficial.join(', ')}: not the official release binary (${notOfficial.map((v) => NOT_OFFICIAL_BINARY[v]).join('; ')})\n`) : ''),
    );
    const data = await runMatrix(cells, {
      versions,
      istioOn: o.istio ? envoyVersions[0] : undefined,
      scenarioOrder: scenarioIds(),
      backend,
      parallel: o.parallel,
      runDir,
      progress: {
        line: (l) => process.stderr.write(`${err.dim(l)}\n`),
        cellStart: (c) => process.stderr.write(err.dim(`  … ${c.version} ${c.scenario.id} ${c.phase.name}${o.repeat > 1 ? ` #${c.iteration}` : ''}\n`)),
        cellEnd: (c, r, done, total) =>
          process.stderr.write(`  [${String(done).padStart(String(total).length)}/${total}] ${c.version} ${c.scenario.id} ${c.phase.name}${o.repeat > 1 ? ` #${c.iteration}` : ''}: ${statusText(r.status, err)} ${err.dim(`(${(r.timings.wallMs / 1000).toFixed(1)} s)`)}\n`),
      },
    });
    printMatrix(data, `matrix.json, junit.xml and every phase's artifacts: ${runDir}\nreport: ${pathToFileURL(join(runDir, MATRIX_REPORT_FILE)).href}`);
  });

program
  .command('merge')
  .description("combine the matrix.json of several shards into one table")
  .argument('<files...>', 'matrix.json files (one per shard)')
  .option('--out <dir>', 'where to write the merged matrix.json', join(RUNS_DIR, 'matrix-merged'))
  .action(async (files: string[], o: { out: string }) => {
    const parts = await Promise.all(
      files.map(async (f) => {
        const text = await readFile(f, 'utf8').catch(() => {
          throw new UsageError(`cannot read ${f}`, { fix: 'give the matrix.json each shard wrote (.lab-runs/<time>-matrix-shard-i-of-n/matrix.json)' });
        });
        return asMatrixData(text, f);
      }),
    );
    const merged = mergeMatrices(parts);
    await mkdir(o.out, { recursive: true });
    await writeFile(join(o.out, 'matrix.json'), JSON.stringify(merged, null, 2));
    const report = await writeMatrixReport(o.out, merged);
    printMatrix(merged, `merged ${files.length} shard(s): ${join(o.out, 'matrix.json')}\nreport: ${pathToFileURL(report).href}`);
  });

/** A shard's matrix.json, or one clear error saying why this file is not one. */
function asMatrixData(text: string, file: string): MatrixData {
  const notOne = (why: string) => new UsageError(`${file} is not a matrix.json: ${why}`, { fix: 'give the matrix.json each shard wrote (.lab-runs/<time>-matrix-shard-i-of-n/matrix.json)' });
  let data: Partial<MatrixData>;
  try {
    data = JSON.parse(text) as Partial<MatrixData>;
  } catch (err) {
    throw notOne(`not JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== 'object' || !Array.isArray(data.entries) || !Array.isArray(data.versions)) throw notOne('it has no "entries" and "versions" lists');
  return data as MatrixData;
}

await main(program, () => exitCode);
