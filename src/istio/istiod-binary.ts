/**
 * lab/istiod: Istio's real config generation (its own Go module), built on first use with the
 * machine's Go toolchain from the Go module proxy and cached by source hash in the lab cache, like
 * Envoy. Cold build: module download (~1.5 GB) and 4-5 min of compiling on 2 cores.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrerequisiteError } from '../errors.js';
import { CACHE_ROOT, LAB_DIR } from '../paths.js';
import { withTicker } from '../util/ticker.js';

const SOURCE = join(LAB_DIR, 'istiod');
/** Modules the checksum database has no entry for (measured): fetched from the proxy unverified by sum.golang.org. */
const GONOSUMDB = 'github.com/envoyproxy/go-control-plane/contrib,istio.io/client-go,github.com/agentgateway/agentgateway';

/** The Istio version lab/istiod/go.mod pins (a pseudo-version: the proxy serves no release tags). */
export async function pinnedIstio(): Promise<string> {
  const mod = await readFile(join(SOURCE, 'go.mod'), 'utf8');
  return /istio\.io\/istio (\S+)/.exec(mod)?.[1] ?? 'unknown';
}

let building: Promise<string> | undefined;

export function istiodBinary(progress: (line: string) => void = () => {}): Promise<string> {
  building ??= build(progress).finally(() => (building = undefined));
  return building;
}

async function build(progress: (line: string) => void): Promise<string> {
  const source = (await Promise.all(['go.mod', 'go.sum', 'main.go'].map((f) => readFile(join(SOURCE, f), 'utf8')))).join('\0');
  const dir = join(CACHE_ROOT, 'istiod');
  const out = join(dir, `istiod-lab-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(out)) return out;
  const go = await execa('go', ['version'], { reject: false });
  if (go.exitCode !== 0) throw new PrerequisiteError('Istio mode needs the Go toolchain to build lab/istiod', { fix: 'install Go ≥ 1.26 (or put go on PATH)', evidence: go.stderr || String(go.message) });
  progress(`building lab/istiod (Istio ${await pinnedIstio()}) with ${go.stdout.trim()}: first time only, a few minutes…`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = await withTicker('building lab/istiod', progress, () =>
    execa('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], { cwd: SOURCE, reject: false, all: true, env: { CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GONOSUMDB } }),
  );
  if (r.exitCode !== 0) throw new PrerequisiteError('go build of lab/istiod failed', { fix: 'read the output: a module the proxy refuses, or too little memory (the build peaks near 3 GB)', evidence: String(r.all ?? '').split('\n').slice(-15).join('\n') });
  await chmod(tmp, 0o755);
  await rename(tmp, out);
  return out;
}
