/**
 * The leak watch: tcpdump on this machine's own interfaces (the host network namespace), outside
 * every lab's own bridges and namespaces, while the lab works. The safety rule says no lab packet
 * ever gets there: nothing to or from 198.18.0.0/15, no DNS query for a lab name. The test suite
 * runs it around all of `npm test` from an empty validation cache; `npm run lab -- leak-check`
 * runs it around a validation of every variant.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabStartError } from '../errors.js';
import { ENVOY_CONFIGS_DIR } from '../paths.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { LAB_RANGE } from '../topology/addresses.js';

/** What tcpdump keeps: any lab address, and every DNS packet (judged by name afterwards). */
export const CAPTURE_FILTER = `net ${LAB_RANGE} or port 53`;

export interface HostInterface {
  name: string;
  addresses: string[];
}

/**
 * The interfaces a leak would cross: every one in this namespace except loopback, container veths
 * (their traffic shows on the bridge they hang off) and the labs' own bridges, which hold a lab
 * address (docker's internal lab networks).
 */
export async function hostInterfaces(): Promise<HostInterface[]> {
  const r = await execa('ip', ['-j', 'address', 'show']);
  const all = JSON.parse(String(r.stdout)) as { ifname: string; flags: string[]; addr_info?: { local: string }[] }[];
  return all
    .filter((i) => i.flags.includes('UP')) // a device that is down carries nothing (and tcpdump refuses it)
    .map((i) => ({ name: i.ifname, addresses: (i.addr_info ?? []).map((a) => a.local) }))
    .filter((i) => i.name !== 'lo' && !i.name.startsWith('veth') && !i.addresses.some((a) => /^198\.1[89]\./.test(a)));
}

/** A capture under way: the tcpdump pids and their files, so any process (a test worker) can stop it. */
export interface HostCapture {
  dir: string;
  startedAt: string;
  tcpdumps: { interface: string; pid: number; pcap: string; log: string }[];
}

/** Starts one tcpdump per host interface; resolves once each says it is listening. */
export async function startHostCapture(dir: string): Promise<HostCapture> {
  await mkdir(dir, { recursive: true });
  const tcpdumps: HostCapture['tcpdumps'] = [];
  for (const { name } of await hostInterfaces()) {
    const pcap = join(dir, `${name}.pcap`);
    const log = join(dir, `${name}.tcpdump.log`);
    // Detached, its words in a file: it outlives no one (stopHostCapture or the suite's teardown stops it by pid).
    const proc = execa('tcpdump', ['-i', name, '-n', '-U', '-Z', 'root', '-w', pcap, CAPTURE_FILTER], { reject: false, detached: true, stdin: 'ignore', stdout: 'ignore', stderr: { file: log } });
    proc.unref();
    tcpdumps.push({ interface: name, pid: proc.pid!, pcap, log });
    const deadline = Date.now() + 5000;
    while (!/listening on/.test(await readFile(log, 'utf8').catch(() => ''))) {
      if (Date.now() > deadline || !alive(proc.pid!)) throw new LabStartError(`tcpdump on ${name} did not start listening in 5 s`, { evidence: await readFile(log, 'utf8').catch(() => ''), fix: 'check that tcpdump runs here as root: tcpdump -i <interface> -c 1' });
      await sleep(50);
    }
  }
  return { dir, startedAt: new Date().toISOString(), tcpdumps };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** tcpdump's own "N packets captured" per interface: proof that each ran to the end. */
export type CaptureStats = Record<string, number | undefined>;

/** Stops each tcpdump (by its pid, SIGINT so it writes its totals) and reads what it says it caught. */
export async function stopHostCapture(c: HostCapture): Promise<CaptureStats> {
  const stats: CaptureStats = {};
  for (const t of c.tcpdumps) {
    if (alive(t.pid)) process.kill(t.pid, 'SIGINT');
    for (let i = 0; i < 100 && alive(t.pid); i++) await sleep(50);
    const n = /(\d+) packets? captured/.exec(await readFile(t.log, 'utf8').catch(() => ''))?.[1];
    stats[t.interface] = n === undefined ? undefined : Number(n);
  }
  return stats;
}

export interface Leak {
  interface: string;
  line: string;
  why: string;
}

/**
 * Judges the capture: every packet with a lab address is a leak, and so is every DNS query for a
 * name the lab serves (its own DNS answers those inside the lab; out here they would go to a
 * resolver outside the machine). Other DNS (the registry lookups of npm or pip) is not the lab's.
 */
export function judgeCapture(iface: string, tcpdumpText: string, labNames: ReadonlySet<string>): Leak[] {
  const leaks: Leak[] = [];
  for (const line of tcpdumpText.split('\n').filter(Boolean)) {
    if (/\b198\.1[89]\.\d+\.\d+\b/.test(line)) {
      leaks.push({ interface: iface, line, why: `a packet to or from ${LAB_RANGE}` });
      continue;
    }
    const q = /\b(?:A|AAAA|SRV|TXT|PTR|CNAME|ANY|HTTPS)\? ([^\s]+?)\.? /.exec(line);
    if (q && (isLabName(q[1]!.toLowerCase(), labNames) || /\.1[89]\.198\.in-addr\.arpa$/i.test(q[1]!))) leaks.push({ interface: iface, line, why: `a DNS query for the lab name ${q[1]}` });
  }
  return leaks;
}

/** The name itself, or a search-domain expansion of it (known.test.cluster.local). */
const isLabName = (name: string, labNames: ReadonlySet<string>) => [...labNames].some((n) => name === n || name.startsWith(`${n}.`));

/** Reads every pcap of a capture back through tcpdump and judges it. */
export async function leaksIn(dir: string, labNames: ReadonlySet<string>): Promise<{ leaks: Leak[]; packets: number }> {
  const leaks: Leak[] = [];
  let packets = 0;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.pcap'))) {
    const r = await execa('tcpdump', ['-r', join(dir, file), '-n', '-tttt'], { reject: false });
    const text = String(r.stdout);
    packets += text.split('\n').filter(Boolean).length;
    leaks.push(...judgeCapture(file.replace(/\.pcap$/, ''), text, labNames));
  }
  return { leaks, packets };
}

/** Every name the lab's DNS serves or its configs name: the scenarios' records and the variants' (and Istio YAML's) hostnames. */
export async function labNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const id of scenarioIds()) for (const n of Object.keys((await loadScenario(id)).world.dns)) names.add(n.toLowerCase());
  const configFiles = (await readdir(ENVOY_CONFIGS_DIR, { recursive: true })).filter((f) => f.endsWith('.yaml')).map((f) => join(ENVOY_CONFIGS_DIR, f));
  for (const f of configFiles) {
    // socket_address hostnames (DNS clusters), and list items such as a ServiceEntry's hosts.
    for (const m of (await readFile(f, 'utf8')).matchAll(/(?:address:\s*|^\s*-\s*)["']?([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+)["']?\s*$/gim)) names.add(m[1]!.toLowerCase());
  }
  return names;
}
