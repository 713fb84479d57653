/**
 * Istio's own interception code: tools/istio-iptables (what istio-init and istio-cni run), from
 * the Istio module lab/istiod pins, as a small binary (lab/istio-iptables) built into the lab cache
 * with the machine's Go on first use. The lab runs it in a pod's network namespace with the flags
 * the scenario asks for. Without Go, lab/istio-iptables.sh (the same rules, typed by hand and
 * compared with Istio's by test/unit/interception-rules.test.ts) stands in, said as such.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrerequisiteError } from '../errors.js';
import { CACHE_ROOT, LAB_DIR } from '../paths.js';
import { GO_ENV } from './istiod-binary.js';

const SOURCE = join(LAB_DIR, 'istio-iptables');
const FILES = ['go.mod', 'go.sum', 'main.go'];
/** The hand-written stand-in, for a machine without Go. */
export const ISTIO_IPTABLES_SCRIPT = join(LAB_DIR, 'istio-iptables.sh');

let building: Promise<string | undefined> | undefined;

/** The binary of Istio's capture code (built if needed); undefined when the machine has no Go. */
export function istioIptablesBinary(progress: (line: string) => void = () => {}): Promise<string | undefined> {
  building ??= build(progress).finally(() => (building = undefined));
  return building;
}

async function build(progress: (line: string) => void): Promise<string | undefined> {
  const source = (await Promise.all(FILES.map((f) => readFile(join(SOURCE, f), 'utf8')))).join('\0');
  const dir = join(CACHE_ROOT, 'istio-iptables');
  const out = join(dir, `istio-iptables-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(out)) return out;
  if ((await execa('go', ['version'], { reject: false })).exitCode !== 0) return undefined;
  progress("building lab/istio-iptables (Istio's capture code) from the pinned Istio module: first time only…");
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    const r = await execa('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], { cwd: SOURCE, reject: false, all: true, env: GO_ENV });
    if (r.exitCode !== 0) throw new PrerequisiteError("go build of lab/istio-iptables (Istio's capture code) failed", { fix: 'read the output: usually a module the Go module proxy refuses', evidence: String(r.all ?? '').split('\n').slice(-15).join('\n') });
    await chmod(tmp, 0o755);
    await rename(tmp, out);
    return out;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** istio-init's flags for the capture a lab asks for (Istio's names: -i '*' captures all outbound). */
export function captureFlags(o: { excludeOutbound?: string[]; inbound?: 'REDIRECT' | 'TPROXY'; uid: number }): string[] {
  return [
    '-p', '15001', '-z', '15006', '-u', String(o.uid), '-g', String(o.uid), '-i', '*',
    ...(o.excludeOutbound?.length ? ['-x', o.excludeOutbound.join(',')] : []),
    ...(o.inbound ? ['-b', '*', '-m', o.inbound] : []),
  ];
}

/**
 * The pair of Istio's rules the lab leaves out in TPROXY mode (after Istio's code has written
 * them): Envoy's original_src connection to the app (from the caller's address, over lo) matches
 * them and is NATed back to 15006. Measured with Istio's own rules (2026-12-03, Envoy 1.40.0,
 * inbound-source-ip fix-tproxy): every call 503 UF connection_timeout, the app sees nothing, as
 * in istio#23369 (closed without a fix). Without the pair the caller's address reaches the app.
 */
export const tproxyLeftOut = (uid: number): string[] =>
  (['uid', 'gid'] as const).map((who) => `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --${who}-owner ${uid} -j ISTIO_IN_REDIRECT`);
