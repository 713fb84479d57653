/**
 * A small Go program of the lab's own (lab/<name>: go.mod, go.sum, main.go) that runs someone
 * else's real code: Istio's capture code (istio-iptables) and sidecar agent (pilot-agent) from the
 * Istio module lab/istiod pins, and actionlint for the workflow the lab ships. Built with the machine's Go on first use, cached by source hash in the lab
 * cache like Envoy; `after` adds what the binary needs beside it (from the module's own files).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrerequisiteError } from '../errors.js';
import { CACHE_ROOT, LAB_DIR } from '../paths.js';
import { GO_ENV } from './go-env.js';

const FILES = ['go.mod', 'go.sum', 'main.go'];
const building = new Map<string, Promise<string | undefined>>();

export interface LabGoTool {
  /** lab/<name> */
  name: string;
  /** What it is, for progress lines and errors. */
  what: string;
  /** Whose code it builds (default: the pinned Istio module). */
  from?: string;
  /** Run once after a build, before the binary takes its place: `out` is the path it will have. */
  after?: (out: string, sourceDir: string) => Promise<void>;
}

/** The tool's binary (built if needed); undefined when the machine has no Go. */
export function labGoTool(tool: LabGoTool, progress: (line: string) => void = () => {}): Promise<string | undefined> {
  if (!building.has(tool.name)) building.set(tool.name, build(tool, progress).finally(() => building.delete(tool.name)));
  return building.get(tool.name)!;
}

async function build(tool: LabGoTool, progress: (line: string) => void): Promise<string | undefined> {
  const sourceDir = join(LAB_DIR, tool.name);
  const source = (await Promise.all(FILES.map((f) => readFile(join(sourceDir, f), 'utf8')))).join('\0');
  const dir = join(CACHE_ROOT, tool.name);
  const out = join(dir, `${tool.name}-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(out)) return out;
  if ((await execa('go', ['version'], { reject: false })).exitCode !== 0) return undefined;
  progress(`building lab/${tool.name} (${tool.what}) from ${tool.from ?? 'the pinned Istio module'}: first time only…`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    const r = await execa('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], { cwd: sourceDir, reject: false, all: true, env: GO_ENV });
    if (r.exitCode !== 0) throw new PrerequisiteError(`go build of lab/${tool.name} (${tool.what}) failed`, { fix: 'read the output: usually a module the Go module proxy refuses', evidence: String(r.all ?? '').split('\n').slice(-15).join('\n') });
    await chmod(tmp, 0o755);
    await tool.after?.(out, sourceDir);
    await rename(tmp, out);
    return out;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Where the Go module cache keeps the Istio module a lab tool is built from (for its non-Go files). */
export async function istioModuleDir(sourceDir: string): Promise<string> {
  const r = await execa('go', ['list', '-m', '-f', '{{.Dir}}', 'istio.io/istio'], { cwd: sourceDir, reject: false, env: GO_ENV });
  if (r.exitCode !== 0 || !r.stdout.trim()) throw new PrerequisiteError('the Go module cache has no copy of the Istio module', { fix: 'run `go mod download` in lab/pilot-agent (the Go module proxy serves it)', evidence: r.stderr.trim() });
  return r.stdout.trim();
}
