/**
 * `envoy --mode validate` on every configuration the lab renders, before any lab uses it. A bad
 * config is one clear error naming the file and quoting Envoy. Results are cached per Envoy
 * version and config content (rendered with canonical lab values), so repeats cost nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execaOffline } from '../backends/offline.js';
import { validationBootstrapYaml } from './bootstrap.js';
import type { EnvoyResources } from './config.js';
import { VALIDATED_DIR } from '../paths.js';
import type { EnvoyBinary } from './install.js';

export interface ValidationResult {
  ok: boolean;
  /** Envoy's own words when it rejects the config. */
  message: string;
}

/** Runs Envoy's validator; never throws for a rejected config (see assertValid). */
export async function validateResources(envoy: EnvoyBinary, r: EnvoyResources, identity?: { cert: string; key: string; ca: string }): Promise<ValidationResult> {
  const yaml = validationBootstrapYaml(r, identity);
  const key = createHash('sha256').update(envoy.banner).update(yaml).digest('hex').slice(0, 32);
  const marker = join(VALIDATED_DIR, key);
  if (existsSync(marker)) return { ok: true, message: 'cached' };
  const dir = await mkdtemp('/tmp/efl-validate-');
  try {
    await writeFile(join(dir, 'bootstrap.yaml'), yaml);
    // Loopback only: the canonical lab addresses in it (DNS clusters, the lab DNS) are routable
    // nowhere, so Envoy's start-up lookups fail here instead of leaving the machine.
    const res = await execaOffline(envoy.bin, ['--mode', 'validate', '-c', join(dir, 'bootstrap.yaml'), '-l', 'error', '--disable-hot-restart'], { reject: false, all: true });
    const output = String(res.all ?? '');
    if (res.exitCode !== 0) return { ok: false, message: envoyComplaint(output) };
    await mkdir(VALIDATED_DIR, { recursive: true });
    await writeFile(marker, '');
    return { ok: true, message: 'OK' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The line of Envoy's output that says what is wrong (drops the log prefixes). */
export function envoyComplaint(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/^\[[^\]]*\]\[[^\]]*\]\[[^\]]*\]\s*(\[[^\]]*\]\s*)?/, '').trim()).filter(Boolean);
  const found = lines.find((l) => /error|exception|reject|invalid|unknown|duplicate|same matching/i.test(l)) ?? lines.at(-1) ?? 'no output';
  // Drop the source location and the temporary bootstrap path: keep Envoy's reason.
  const useful = found.replace(/^\[source\/[^\]]*\]\s*/, '').replace(/^error initializing configuration '[^']*':\s*/, '');
  return useful.length > 600 ? `${useful.slice(0, 600)}…` : useful;
}
