// The pod's interception is Istio's own capture code (lab/istio-iptables, built from the pinned
// Istio module). lab/istio-iptables.sh stands in for it on a machine without Go: this test holds
// the script to the rules Istio's code writes for the same flags (its --dry-run), table by table
// and in order, for every capture the lab uses. The one difference is named: in TPROXY mode the
// lab leaves out Istio's pair of loopback hairpin rules (Envoy's original_src connection to the
// app would be NATed back to 15006; measured, istio#23369), after Istio's code as in the script.
import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISTIO_IPTABLES_SCRIPT, captureFlags, istioIptablesBinary, tproxyLeftOut } from '../../src/interception/istio-iptables.js';
import { LAB_DIR } from '../../src/paths.js';

type Rules = Record<string, string[]>;

/** What the script would run, recorded by stand-in iptables / ip commands on its PATH. */
async function scriptRules(flags: string[], shim: string): Promise<Rules> {
  const log = join(shim, 'calls.log');
  await rm(log, { force: true });
  await execa('sh', [ISTIO_IPTABLES_SCRIPT, ...flags], { env: { PATH: `${shim}:${process.env.PATH}`, SHIM_LOG: log } });
  const rules: Rules = {};
  for (const line of (await readFile(log, 'utf8')).split('\n').filter(Boolean)) {
    const [table, ...rest] = line.split(' ');
    (rules[table!] ??= []).push(rest.join(' '));
  }
  return rules;
}

/** The iptables-restore input Istio's code writes for the flags (--dry-run). */
async function istioRules(bin: string, flags: string[]): Promise<Rules> {
  const out = (await execa(bin, ['--dry-run', ...flags])).stdout;
  const rules: Rules = {};
  let table: string | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('* ')) table = line.slice(2);
    else if (line === 'COMMIT') table = undefined;
    else if (table && line.startsWith('-')) (rules[table] ??= []).push(line);
  }
  return rules;
}

let bin: string | undefined;
let shim: string;
beforeAll(async () => {
  bin = await istioIptablesBinary();
  shim = await mkdtemp(join(tmpdir(), 'efl-iptables-shim-'));
  const record = '#!/bin/sh\nt=filter; out=""\nwhile [ $# -gt 0 ]; do case "$1" in -w) ;; -t) shift; t=$1 ;; *) out="$out $1" ;; esac; shift; done\necho "$t$out" >> "$SHIM_LOG"\n';
  for (const cmd of ['iptables', 'ip6tables']) await writeFile(join(shim, cmd), record);
  await writeFile(join(shim, 'ip'), '#!/bin/sh\necho "ip $*" >> "$SHIM_LOG"\n');
  for (const cmd of ['iptables', 'ip6tables', 'ip']) await chmod(join(shim, cmd), 0o755);
}, 300_000);
afterAll(() => rm(shim, { recursive: true, force: true }));

const CAPTURES: Array<[string, Parameters<typeof captureFlags>[0]]> = [
  ['outbound only (the default)', { uid: 1337 }],
  ['excludeOutboundIPRanges', { uid: 1337, excludeOutbound: ['198.18.0.30/32', '198.18.0.31/32'] }],
  ['inbound REDIRECT', { uid: 1337, inbound: 'REDIRECT' }],
  ['inbound TPROXY', { uid: 1337, inbound: 'TPROXY' }],
];

describe("the interception rules: lab/istio-iptables.sh against Istio's own capture code", () => {
  for (const [name, capture] of CAPTURES) {
    it(`${name}: the same rules in the same order${capture.inbound === 'TPROXY' ? ', but for the named pair' : ''}`, async (ctx) => {
      if (!bin) ctx.skip('no Go on this machine: Istio\'s capture code is not built (the script then stands in)');
      const flags = captureFlags(capture);
      const ours = await scriptRules(flags, shim);
      const istio = await istioRules(bin!, flags);
      // Istio sets the TPROXY routes outside iptables (tproxy.ConfigureRoutes); the script with `ip`.
      delete ours.ip;
      if (capture.inbound === 'TPROXY') istio.nat = istio.nat!.filter((r) => !tproxyLeftOut(1337).includes(r));
      expect(ours).toEqual(istio);
    });
  }
});

describe("Istio's capture code comes from the Istio lab/istiod pins", () => {
  it('lab/istio-iptables/go.mod requires the same istio.io/istio as lab/istiod/go.mod', async () => {
    const pin = async (dir: string) => /istio\.io\/istio (\S+)/.exec(await readFile(join(LAB_DIR, dir, 'go.mod'), 'utf8'))?.[1];
    expect(await pin('istio-iptables')).toBe(await pin('istiod'));
  });
});
