/** --keep: leave the lab up after the traffic and tell the user how to poke at it. */
import { createInterface } from 'node:readline/promises';
import type { Lab } from '../lab.js';
import { NetnsBackend } from '../topology/netns-backend.js';

export async function pauseForPoking(lab: Lab): Promise<void> {
  const ns = (host: string) => (lab.backend instanceof NetnsBackend ? lab.backend.nsName(host) : host);
  const hosts = ['pod', 'dns', ...lab.spec.upstreams.map((u) => u.name)];
  const lines = [
    '',
    `The lab is up (${lab.backend.plan.cidr}). Hosts: ${hosts.map((h) => `${h}=${lab.ip(h)}`).join(' ')}`,
    `  connections:  ip netns exec ${ns('pod')} ss -tanp`,
    `  interception: ip netns exec ${ns('pod')} iptables -t nat -L ISTIO_OUTPUT -n -v`,
    `  Envoy admin:  curl --unix-socket ${lab.envoy.admin.socketPath} http://x/clusters`,
    `  as the app:   ip netns exec ${ns('pod')} setpriv --reuid=1000 --regid=1000 --clear-groups curl -sv http://<name>/`,
    `  DNS:          dig @${lab.ip('dns')} <name>`,
    'Press Enter to judge the phase and tear the lab down (Ctrl-C tears it down at once).',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  await rl.question('');
  rl.close();
}
