/**
 * The layout stays layered: no import cycle between folders of src/ (type-only imports count:
 * they are dependencies of the design too), scenarios import only the public entry, and the
 * agent bundle (code that runs inside lab hosts) reaches no harness-only module.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';
import { DEFAULT_ENVOY_VERSION } from '../../src/envoy/version.js';
import { NOT_OFFICIAL_BINARY } from '../../src/envoy/install.js';

const SRC = join(REPO_ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static, and dynamic `import('./x.js')`: the agent loads its commands lazily), resolved to .ts paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:(?:import|export)\s[^'"]*?from\s+|import\()'(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
}

/** "backends/netns" for src/backends/netns/x.ts; top-level files are their own node. */
const folderOf = (file: string) => {
  const rel = relative(SRC, file);
  const parts = rel.split('/');
  return parts.length === 1 ? rel : parts[0]!;
};

function folderGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of files(SRC)) {
    const from = folderOf(f);
    for (const to of imports(f).filter((p) => p.startsWith(SRC)).map(folderOf)) {
      if (to === from) continue;
      g.set(from, (g.get(from) ?? new Set()).add(to));
    }
  }
  return g;
}

function findCycle(g: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const m of g.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of g.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('architecture', () => {
  it('has no import cycle between the folders of src/', () => {
    expect(findCycle(folderGraph())).toBeUndefined();
  });

  it('scenarios import only the public entry, src/index.ts', () => {
    const scenarioFiles = files(join(REPO_ROOT, 'scenarios'));
    const deep = scenarioFiles.flatMap((f) => imports(f).filter((p) => p !== join(SRC, 'index.ts')).map((p) => `${relative(REPO_ROOT, f)} → ${relative(REPO_ROOT, p)}`));
    expect(deep).toEqual([]);
  });

  it("no module imports src/istio/ but the istiod control plane (and the commands that build, render, compare or pick an Istio: cli, matrix, upgrade)", () => {
    const allowed = (rel: string) => rel.startsWith('istio/') || /^lab\/control-plane\/istiod[^/]*\.ts$/.test(rel) || rel.startsWith('cli/') || rel.startsWith('matrix/') || rel.startsWith('upgrade/');
    const reaching = files(SRC)
      .map((f) => relative(SRC, f))
      .filter((rel) => !allowed(rel) && imports(join(SRC, rel)).some((p) => relative(SRC, p).startsWith('istio/')));
    expect(reaching).toEqual([]);
  });

  it('the lab core and its concerns never branch on the config source: no `.istio` / `.istiod` read in src/lab/ outside control-plane/', () => {
    const lab = files(join(SRC, 'lab')).filter((f) => !f.includes('/control-plane/'));
    const reads = lab.flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, i) => ({ where: `${relative(SRC, f)}:${i + 1}`, code: l.replace(/\/\/.*$/, '') })));
    expect(reads.filter((l) => /\.istiod?\b/.test(l.code) && !/^\s*\*/.test(l.code)).map((l) => `${l.where}: ${l.code.trim()}`)).toEqual([]);
  });

  it('no source file is over 250 lines without a reason at its top (// Long: why)', () => {
    const long = [...files(SRC), ...files(join(REPO_ROOT, 'scenarios'))].filter((f) => {
      const text = readFileSync(f, 'utf8');
      return text.split('\n').length > 251 && !text.startsWith('// Long: ');
    });
    expect(long.map((f) => relative(REPO_ROOT, f))).toEqual([]);
  });

  it('the agent bundle reaches no harness module (it runs inside lab hosts, built on its own)', () => {
    const seen = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      imports(f).forEach(walk);
    };
    walk(join(SRC, 'agent-main.ts'));
    const harness = [...seen].map((f) => relative(SRC, f)).filter((f) => /^(lab|backends|envoy|scenario|cli|checks|evidence|report)\//.test(f) || f === 'paths.ts');
    expect(harness).toEqual([]);
  });

  it('the pinned default Envoy is an official release binary', () => {
    expect(NOT_OFFICIAL_BINARY[DEFAULT_ENVOY_VERSION]).toBeUndefined();
  });
});
