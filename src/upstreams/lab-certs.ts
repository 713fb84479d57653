/**
 * The lab's TLS material, made once by lab/make-certs.sh and cached (readable by the app's uid):
 * ca.crt and <name>.crt/.key per name (see cert-names.ts).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CACHE_ROOT, LAB_DIR } from '../paths.js';

/** Every name a lab site serves; bump CERTS_VERSION when this list changes. */
export const LAB_CERT_NAMES = ['known.test', 'unknown.test', '*.example.com'];
const CERTS_VERSION = 'v1';

export { certFile } from './cert-names.js';

export async function ensureLabCerts(): Promise<string> {
  const dir = join(CACHE_ROOT, `certs-${CERTS_VERSION}`);
  if (existsSync(join(dir, 'ca.crt'))) return dir;
  await mkdir(CACHE_ROOT, { recursive: true });
  const tmp = `${dir}.${process.pid}.tmp`;
  await execa('sh', [join(LAB_DIR, 'make-certs.sh'), tmp, ...LAB_CERT_NAMES]);
  await chmod(tmp, 0o755);
  await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true })); // another run made it first
  return dir;
}
