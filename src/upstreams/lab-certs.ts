/**
 * The lab's TLS material, made once (make-certs.ts) and cached (readable by the app's uid):
 * ca.crt and <name>.crt/.key per name (see cert-names.ts).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CACHE_ROOT, LAB_CERTS_DIR } from '../paths.js';
import { makeCerts } from './make-certs.js';

/**
 * The mesh's workload identities (Istio's SPIFFE form): the pod's sidecar and another pod's
 * sidecar present these over mTLS.
 */
export const WORKLOAD_IDENTITY = {
  pod: 'spiffe://cluster.local/ns/default/sa/sleep',
  peer: 'spiffe://cluster.local/ns/default/sa/app',
} as const;

/** Every name a lab site serves; bump the version in LAB_CERTS_DIR (paths.ts) when this list changes. */
export const LAB_CERT_NAMES = ['known.test', 'unknown.test', '*.example.com', 'api.partner.test', ...Object.values(WORKLOAD_IDENTITY)];

export { certFile } from './cert-names.js';

/** One making per process: labs started side by side (--parallel) share it instead of racing. */
let making: Promise<string> | undefined;

export function ensureLabCerts(): Promise<string> {
  const dir = LAB_CERTS_DIR;
  if (existsSync(join(dir, 'ca.crt'))) return Promise.resolve(dir);
  making ??= makeLabCerts(dir).finally(() => (making = undefined));
  return making;
}

async function makeLabCerts(dir: string): Promise<string> {
  await mkdir(CACHE_ROOT, { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`); // unique per making: another process may be making them too
  await makeCerts(tmp, LAB_CERT_NAMES);
  await chmod(tmp, 0o755);
  await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true })); // another run made it first
  return dir;
}
