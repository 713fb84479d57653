/**
 * Which labs exist and who owns them. Each lab claims a directory under LABS_DIR holding the
 * owner's pid; a lab whose owner is dead is stale and the next run (or `lab clean`) sweeps it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABS_DIR as LABS, RUN_ROOT } from '../paths.js';
import { AddressPlan } from '../topology/addresses.js';
import { watchOwner } from './owner-watch.js';

/** Resource names start with this: namespaces `efl-<labId>-<host>`. */
export const NAME_PREFIX = 'efl';

export function labDir(labId: string): string {
  return join(LABS, labId);
}

/** The compose playground's fixed subnet (docker-compose.yml): a docker lab beside it must not take it. */
const RESERVED_PREFIXES = ['198.18.200'];

/** Claims are made one at a time in this process, so labs started in parallel get distinct /24s. */
let claiming: Promise<unknown> = Promise.resolve();

export function claimLab(): Promise<{ labId: string; dir: string }> {
  const claim = claiming.then(claimOne);
  claiming = claim.catch(() => {});
  // Whatever ends this process, its labs are removed when it has gone (owner-watch.ts).
  return claim.then((c) => (watchOwner(), c));
}

async function claimOne(): Promise<{ labId: string; dir: string }> {
  await mkdir(LABS, { recursive: true });
  await chmod(RUN_ROOT, 0o755);
  await chmod(LABS, 0o755);
  // Labs side by side (--parallel, or another run) must not share a /24: Docker refuses
  // overlapping networks, and the addresses would be ambiguous in the evidence.
  const taken = new Set([...(await listClaimedLabs()).map((id) => new AddressPlan(id).prefix), ...RESERVED_PREFIXES]);
  for (;;) {
    const labId = randomBytes(3).toString('hex');
    if (taken.has(new AddressPlan(labId).prefix) && taken.size < 512) continue;
    // The claim appears whole (owner.pid inside) by a rename: a sweeper in another process must
    // never see a lab directory without its owner and take it for a dead run's.
    const dir = labDir(labId);
    const draft = join(LABS, `.claim-${labId}-${process.pid}`);
    await mkdir(draft, { mode: 0o755 });
    await chmod(draft, 0o755);
    await writeFile(join(draft, 'owner.pid'), String(process.pid));
    try {
      await rename(draft, dir); // fails when the id is taken (its directory is never empty)
    } catch {
      await rm(draft, { recursive: true, force: true });
      continue;
    }
    // Another process may have claimed another id with the same /24 meanwhile (the scheduler runs
    // labs of several processes side by side): the higher id gives way, so exactly one keeps it.
    const prefix = new AddressPlan(labId).prefix;
    const rival = (await listClaimedLabs()).some((id) => id !== labId && id < labId && new AddressPlan(id).prefix === prefix);
    if (rival) {
      await rm(dir, { recursive: true, force: true });
      taken.add(prefix);
      continue;
    }
    return { labId, dir };
  }
}

export async function releaseLab(labId: string): Promise<void> {
  await rm(labDir(labId), { recursive: true, force: true });
}

export async function listClaimedLabs(): Promise<string[]> {
  return (await readdir(LABS).catch(() => [] as string[])).filter((name) => !name.startsWith('.')); // .claim-*: drafts
}

/** A lab is live while the process that claimed it runs. */
export async function isLabLive(labId: string): Promise<boolean> {
  const pid = Number(await readFile(join(labDir(labId), 'owner.pid'), 'utf8').catch(() => 'NaN'));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
