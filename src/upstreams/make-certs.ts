/**
 * The lab's TLS material, made with openssl: a lab CA and one leaf certificate per name, each with
 * its SAN and the key usages modern TLS stacks check. DNS names (the catch-all-cert scenario's
 * sites) get a serverAuth certificate with that CN; a spiffe://… name (a mesh workload identity, as
 * Istio's CA issues it) gets a URI SAN usable as client and server, in spiffe-<ns>-<sa>.crt.
 */
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { certFile } from './cert-names.js';

const openssl = (dir: string, args: string[]) => execa('openssl', args, { cwd: dir });

/** ca.crt / ca.key and <file>.crt / <file>.key for each name, in `dir`. */
export async function makeCerts(dir: string, names: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=envoy-fault-lab CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', 'ca.key', '-out', 'ca.crt']);
  for (const name of names) {
    const spiffe = name.startsWith('spiffe://');
    const file = certFile(name);
    const ext = [`subjectAltName=${spiffe ? 'URI' : 'DNS'}:${name}`, 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${spiffe ? 'serverAuth,clientAuth' : 'serverAuth'}`, 'basicConstraints=CA:FALSE'];
    await writeFile(join(dir, `${file}.ext`), `${ext.join('\n')}\n`);
    await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', spiffe ? '/O=cluster.local' : `/CN=${name}`, '-keyout', `${file}.key`, '-out', `${file}.csr`]);
    await openssl(dir, ['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '3650', '-extfile', `${file}.ext`, '-out', `${file}.crt`]);
    await Promise.all([rm(join(dir, `${file}.csr`)), rm(join(dir, `${file}.ext`))]);
  }
  // Readable by the app's uid and by Envoy's (1337): the keys are lab-only test material.
  for (const f of await readdir(dir)) await chmod(join(dir, f), 0o644);
}
