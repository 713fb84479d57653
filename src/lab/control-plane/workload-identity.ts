/** A sidecar's workload identity (certificate, key and the mesh's root CA), from the lab's CA. */
import { join } from 'node:path';
import { certFile, ensureLabCerts, WORKLOAD_IDENTITY } from '../../upstreams/lab-certs.js';

/** Made on first use, shared by every lab. */
export async function workloadIdentity(who: keyof typeof WORKLOAD_IDENTITY): Promise<{ cert: string; key: string; ca: string }> {
  const dir = await ensureLabCerts();
  const file = certFile(WORKLOAD_IDENTITY[who]);
  return { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`), ca: join(dir, 'ca.crt') };
}
