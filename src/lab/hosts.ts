/**
 * The lab's hosts as a scenario sees them (`lab.hosts`): faults applied to them, the DNS record
 * that points a name at one, and what their kernels and servers counted (iptables chains, nstat,
 * sockets, an HTTP upstream's own counts, a real server's own tools).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecResult } from '../backends/backend.js';
import type { FaultRecord } from '../evidence/evidence.js';
import type { Fault, FaultContext } from '../faults/fault.js';
import { DNS_HOST, POD } from '../topology/topology.js';
import type { UpstreamCounts } from '../upstreams/http-upstream.js';
import { delay } from '../util/time.js';
import type { LabContext } from './lab-context.js';

export class Hosts {
  private readonly faults: Array<{ fault: Fault; host: string }> = [];
  /** `ss` tables taken during the phase, by label (the connection checks read them). */
  readonly snapshots: Record<string, string> = {};

  constructor(private readonly lab: LabContext) {}

  private faultContext(host: string): FaultContext {
    return {
      host,
      ip: this.lab.ip(host),
      exec: (argv) => this.lab.backend.exec(host, argv),
      instrument: (cmd, args) => this.lab.agentOf(host).call(cmd, args),
    };
  }

  /** Applies a fault to one of the lab's hosts; its evidence is read back at the end of the phase. */
  async inject(fault: Fault, host: string): Promise<void> {
    const { timeline, ip } = this.lab;
    await this.lab.narrate(`fault: ${fault.type} on ${host} (${ip(host)})`, { why: fault.describe, pause: true });
    if (this.lab.options.omitFaults) {
      timeline.mark('fault', `${fault.type} ${host}: LEFT OUT (omitFaults)`);
      this.lab.log(`fault: ${fault.type} on ${host} left out on purpose`);
      return;
    }
    await fault.apply(this.faultContext(host));
    this.faults.push({ fault, host });
    timeline.mark('fault', `${fault.type} ${host} (${ip(host)}): ${fault.describe}`);
    this.lab.log(`fault: ${fault.type} on ${host} (${ip(host)}): ${fault.describe}`);
  }

  /** What the evidence reads of the hosts after the script: what each fault did (read from its host then), the `ss` tables. */
  evidenceSources(): { readFaults: () => Promise<FaultRecord[]>; snapshots: Record<string, string> } {
    return { readFaults: () => Promise.all(this.faults.map(({ fault, host }) => fault.evidence(this.faultContext(host)))), snapshots: this.snapshots };
  }

  /** Points a DNS name at an upstream host, as the seed's operator did with the record. */
  async switchDns(name: string, host: string): Promise<void> {
    const ip = this.lab.ip(host);
    await this.lab.narrate(`DNS: point ${name} at ${host} (${ip})`, { why: 'the record changes, as the operator changed it', pause: true });
    await this.lab.agentOf(DNS_HOST.name).call('dns.set', { name, ips: [ip] });
    this.lab.timeline.mark('dns', `DNS ${name} → ${host} (${ip})`);
    this.lab.log(`DNS: ${name} now resolves to ${host} (${ip})`);
  }

  /** Packets that went through an iptables chain of a host (the sum of its rules' counters): proof a capture path was used. */
  async chainPackets(host: string, table: 'nat' | 'mangle' | 'filter', chain: string): Promise<number> {
    const r = await this.lab.backend.exec(host, ['iptables', '-w', '-t', table, '-L', chain, '-n', '-v', '-x']);
    if (r.exitCode !== 0) return NaN;
    return r.stdout.split('\n').slice(2).filter(Boolean).reduce((n, l) => n + (Number(l.trim().split(/\s+/)[0]) || 0), 0);
  }

  /** A kernel network counter of a host (nstat, per namespace), e.g. TcpExtTCPKeepAlive. */
  async kernelCounter(host: string, name: string): Promise<number> {
    const r = await this.lab.backend.exec(host, ['nstat', '-asz', name]);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.trim().split(/\s+/)[1] ?? NaN);
  }

  /**
   * `ss -tanpo` in the pod, or on another lab host (with timers: netstat -o, the seed's view of the
   * connections), saved as an artifact. With `until`, re-reads the table for up to 1 s until a line
   * matches (e.g. a dial in flight).
   */
  async snapshotConnections(label: string, until?: RegExp, host: string = POD.name): Promise<string> {
    const read = () => this.lab.backend.exec(host, ['ss', '-tanpo']);
    // Waiting for a state (a dial in flight) is the scenario's own time, like waitFor: each `ss -p`
    // reads every process's sockets (20-50 ms), up to 20 reads.
    let r = await read();
    if (until && !until.test(r.stdout))
      await this.lab.scripted(async () => {
        for (let i = 0; !until.test(r.stdout) && i < 20; i++) {
          await delay(50);
          r = await read();
        }
      });
    const dir = this.lab.options.artifactsDir;
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `ss-${label.replace(/[^a-z0-9]+/gi, '-')}.txt`), `# ${label} (${host}, t=${Date.now() - this.lab.timeline.startedAt} ms)\n${r.stdout}\n`);
    if (r.exitCode === 0) this.snapshots[label] = r.stdout; // a failed `ss` is no table: missing evidence
    this.lab.options.narrator?.show(`connections in ${host} (ss -tanpo), ${label}`, r.stdout);
    return r.stdout;
  }

  /** What an upstream HTTP host counted: requests and work per "METHOD /path", de-duplicated repeats, resets. */
  async upstreamCounts(host: string): Promise<UpstreamCounts> {
    const c = await this.lab.agentOf(host).call<UpstreamCounts>('http.counts', {});
    this.lab.note(`${host} counts`, JSON.stringify(c), { quiet: true });
    return c;
  }

  /** A real server's own view, by its own tool on its host (`redis-cli info commandstats`): what the server counted. */
  run(host: string, argv: string[]): Promise<ExecResult> {
    return this.lab.backend.exec(host, argv);
  }

  /** The log a real server on `host` wrote (logs/<kind>-<host>.log, e.g. MariaDB's error log); undefined when unreadable. */
  async serverLog(kind: 'redis' | 'mariadb' | 'memcached', host: string): Promise<string | undefined> {
    const r = await this.lab.backend.exec(host, ['cat', join(this.lab.backend.workDir, 'logs', `${kind}-${host}.log`)]);
    return r.exitCode === 0 ? r.stdout : undefined;
  }
}
