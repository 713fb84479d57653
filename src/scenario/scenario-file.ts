/**
 * A scenario from the user's own repository: ./incidents/payments-503.ts, importing everything
 * from 'envoy-fault-lab', with its variants beside it in ./incidents/payments-503/. Loaded with
 * tsx's import API (TypeScript without a build step), type-checked first with the TypeScript the
 * user's project has (or the lab's), and checked for what a run needs (a default export, every
 * phase's variant file). Every error names the file and the line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { LabError, PrerequisiteError, UsageError } from '../errors.js';
import { registerConfigsDir } from '../envoy/configs-dir.js';
import type { Scenario } from './scenario.js';

const shown = (file: string) => relative(process.cwd(), file) || file;

/** The first line of the file that mentions `needle` ('phase-name', config: 'variant'), 1-based. */
function lineOf(file: string, needle: string | undefined): number | undefined {
  if (!needle) return undefined;
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(`'${needle}'`) || l.includes(`"${needle}"`) || l.includes(`\`${needle}\``));
  return i < 0 ? undefined : i + 1;
}

const at = (file: string, line?: number) => `${shown(file)}${line ? `:${line}` : ''}`;

/** `builtIn`: the lab's own ids, which a user's scenario may not take. */
export async function loadScenarioFile(given: string, builtIn: string[] = []): Promise<Scenario> {
  const file = resolve(given);
  if (!existsSync(file)) throw new UsageError(`scenario file ${given} does not exist`, { fix: 'give the path of your incident file (e.g. ./incidents/payments-503.ts), or a scenario id (--list)' });
  assertEsmContext(file);
  if (/\.[cm]?ts$/.test(file)) await typeCheck(file);
  let mod: { default?: Scenario };
  try {
    if (/\.[cm]?ts$/.test(file)) await typeScriptLoader();
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw loadError(file, err);
  }
  const scenario = mod.default;
  if (!scenario || typeof scenario !== 'object' || !Array.isArray(scenario.phases) || typeof scenario.id !== 'string') {
    throw new UsageError(`${at(file)}: the file does not default-export a scenario`, { fix: "end it with: export default defineScenario({ id, title, lab, phases }) (import { defineScenario } from 'envoy-fault-lab')" });
  }
  if (builtIn.includes(scenario.id)) {
    throw new UsageError(`${at(file, lineOf(file, scenario.id))}: scenario id "${scenario.id}" is already one of the lab's own scenarios`, { fix: `give yours another id (e.g. "our-${scenario.id}"); reuse the lab's configs with base: envoy-fault-lab:${scenario.id}/<variant>.yaml` });
  }
  const configs = join(dirname(file), basename(file).replace(/\.[cm]?[jt]s$/, ''));
  registerConfigsDir(scenario.id, configs);
  for (const phase of scenario.phases) {
    for (const variant of [phase.config, typeof phase.peerSidecar === 'string' ? phase.peerSidecar : undefined].filter((v): v is string => !!v)) {
      // As in the catalogue, a variant may exist only as Istio YAML (istio/<variant>.yaml): its phase runs under --istio.
      if (!existsSync(join(configs, `${variant}.yaml`)) && !existsSync(join(configs, 'istio', `${variant}.yaml`))) {
        throw new UsageError(`${at(file, lineOf(file, variant))}: phase "${phase.name}" runs config "${variant}", and neither ${shown(join(configs, `${variant}.yaml`))} nor ${shown(join(configs, 'istio', `${variant}.yaml`))} exists`, { fix: `write the variant there (its base: may be one of the lab's, e.g. base: envoy-fault-lab:common/mesh-service-app.yaml), or its Istio YAML under istio/` });
      }
    }
  }
  return scenario;
}

/**
 * A .ts or .js file is an ES module only under a package.json with "type": "module"; otherwise
 * tsx and Node load it as CommonJS, and its import of the lab (an ES module) fails in Node's
 * require(esm) with a message about cycles (measured). Said plainly, before loading.
 */
function assertEsmContext(file: string): void {
  if (/\.m[jt]s$/.test(file)) return;
  if (/\.c[jt]s$/.test(file)) throw new UsageError(`${at(file)}: a .cts/.cjs file is CommonJS, and envoy-fault-lab is an ES module`, { fix: `name the file ${basename(file).replace(/\.c([jt])s$/, '.m$1s')}` });
  let dir = dirname(file);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const type = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type;
      if (type === 'module') return;
      throw new UsageError(`${at(file)}: loads as CommonJS (${shown(pkg)} has no "type": "module"), and envoy-fault-lab is an ES module`, { fix: `add "type": "module" to ${shown(pkg)}, or name the file ${basename(file).replace(/\.c?([jt])s$/, '.m$1s')}` });
    }
    if (dirname(dir) === dir) throw new UsageError(`${at(file)}: loads as CommonJS (no package.json above it), and envoy-fault-lab is an ES module`, { fix: `add a package.json with "type": "module" to your project, or name the file ${basename(file).replace(/\.c?([jt])s$/, '.m$1s')}` });
    dir = dirname(dir);
  }
}

let loader: Promise<void> | undefined;
/**
 * TypeScript imports for the rest of this process (tsx's loader, registered once). Not tsx's
 * namespaced tsImport: that gives the file its own copy of every module it imports, so its
 * 'envoy-fault-lab' would be a second lab (measured: EvidenceMissing !== EvidenceMissing).
 * Already there when the lab itself runs under tsx (this repository).
 */
function typeScriptLoader(): Promise<void> {
  loader ??= import.meta.url.endsWith('.ts') ? Promise.resolve() : import('tsx/esm/api').then(({ register }) => void register());
  return loader;
}

/** A thrown error while the file loads, as one UsageError at its file and line. */
function loadError(file: string, err: unknown): UsageError {
  if (err instanceof LabError) {
    // defineScenario's own checks name the phase: point at its line.
    const phase = /phase "([^"]+)"/.exec(err.message)?.[1];
    return new UsageError(`${at(file, lineOf(file, phase))}: ${err.message}`, { fix: err.fix, evidence: err.evidence });
  }
  const e = err as Error & { errors?: { location?: { line: number; column: number }; text: string }[] };
  // esbuild (through tsx) reports a syntax error with its location; a runtime error has a stack frame in the file.
  const located = e.errors?.[0]?.location?.line ?? Number(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+)`).exec(`${e.message}\n${e.stack ?? ''}`)?.[1]);
  const what = e.errors?.[0]?.text ?? e.message?.split('\n')[0] ?? String(err);
  return new UsageError(`${at(file, Number.isFinite(located) ? located : undefined)}: the scenario file does not load: ${what}`, { fix: 'fix the file (imports come from "envoy-fault-lab")' });
}

/**
 * `tsc --noEmit` on the file with the project's TypeScript, or the lab's own (a dependency of the
 * package): a scenario with a type error never runs.
 */
async function typeCheck(file: string): Promise<void> {
  const tsc = [createRequire(file), createRequire(import.meta.url)].map(tscOf).find((t) => t);
  if (!tsc) throw new PrerequisiteError(`no TypeScript to type-check ${shown(file)} with: neither the project nor envoy-fault-lab has one installed`, { fix: 'reinstall with `npm ci` (typescript is a dependency of envoy-fault-lab), or `npm install -D typescript`' });
  const args = ['--noEmit', '--pretty', 'false', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', file];
  // Outside any tsconfig.json: TypeScript ≥ 6 refuses files on the command line beside one (TS5112).
  const r = await execa(process.execPath, [tsc, ...args], { reject: false, all: true, cwd: tmpdir() });
  if (r.exitCode === 0) return;
  // tsc names files relative to its cwd: say them relative to the user's.
  const errors = String(r.all ?? '').split('\n').filter((l) => /error TS\d+/.test(l)).map((l) => l.replace(/^[^(]+(?=\(\d+,\d+\))/, (p) => shown(resolve(tmpdir(), p))));
  const mine = errors.filter((l) => resolve(l.split('(')[0]!) === file);
  const first = /\((\d+),\d+\)/.exec((mine[0] ?? errors[0]) ?? '')?.[1];
  throw new UsageError(`${at(file, mine.length ? Number(first) : undefined)}: the scenario does not type-check (${errors.length} error${errors.length === 1 ? '' : 's'})`, {
    evidence: (errors.length ? errors : String(r.all ?? '').split('\n')).slice(0, 10).join('\n'),
    fix: 'fix the types (everything a scenario uses comes from "envoy-fault-lab"; docs/authoring.md lists it)',
  });
}

function tscOf(req: NodeRequire): string | undefined {
  try {
    const pkg = req.resolve('typescript/package.json');
    const bin = (JSON.parse(readFileSync(pkg, 'utf8')) as { bin?: { tsc?: string } }).bin?.tsc;
    return bin ? join(dirname(pkg), bin) : undefined;
  } catch {
    return undefined;
  }
}
