/** --keep: leave the lab up after the traffic and tell the user how to poke at it. */
import { createInterface } from 'node:readline/promises';
import type { Lab } from '../lab/lab.js';

/** `input`: workshop mode's reader of stdin, so --keep and --step share one (two would race for Enter). */
export async function pauseForPoking(lab: Lab, input?: { enter(): Promise<void> }): Promise<void> {
  const b = lab.backend;
  const on = (host: string, asApp = false) => b.pokePrefix(host, { asApp });
  const hosts = ['pod', 'dns', ...lab.spec.upstreams.map((u) => u.name)];
  const lines = [
    '',
    `The lab is up (${b.kind}, ${b.plan.cidr}). Hosts: ${hosts.map((h) => `${h}=${lab.ip(h)}`).join(' ')}`,
    `  connections:  ${on('pod')} ss -tanp`,
    `  interception: ${on('pod')} iptables -t nat -L ISTIO_OUTPUT -n -v`,
    lab.sidecar.ifStarted ? `  Envoy admin:  curl --unix-socket ${lab.sidecar.ifStarted.admin.socketPath} http://x/clusters` : '  Envoy admin:  (the sidecar was not started in this phase)',
    `  as the app:   ${on('pod', true)} curl -sv http://<name>/`,
    `  DNS:          ${on('pod')} dig @${lab.ip('dns')} <name>`,
    ...lab.controlPlaneHints(),
    'Press Enter to judge the phase and tear the lab down (Ctrl-C tears it down at once).',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  if (input) return input.enter();
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  await rl.question('');
  rl.close();
}
