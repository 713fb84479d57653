/**
 * The harness's side of a container's process runner (src/agent/process-runner.ts): the agent
 * that is the container's main process, reached over the container's attached stdin/stdout. The
 * docker backend runs and starts a host's processes through it rather than with `docker exec`
 * (about 70 ms of the engine's CPU each). The container's sidecar has no node: its processes
 * still start with `docker exec`.
 *
 * On a host whose role agent runs as root (the lab DNS, an upstream) the runner is that agent too
 * (`claimSelf`): one node process instead of two, about 80 ms of CPU less a host. The harness's
 * role calls and the runner's own calls share the stream; the runner's have negative ids.
 */
import { createInterface } from 'node:readline';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { LabRuntimeError, LabStartError } from '../../errors.js';
import type { ExecResult, HostProcess, SpawnOptions } from '../backend.js';
import { setprivArgs } from '../setpriv.js';

interface Proc {
  stdout?: PassThrough;
  exit: (r: { exitCode?: number; signal?: string }) => void;
}

export class HostRunner {
  private nextId = -1;
  private nextP = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly procs = new Map<number, Proc>();
  private gone?: string;
  /** The stdout of the role agent's view of this runner, once claimed. */
  private selfOut?: PassThrough;
  private claimed = false;
  private readonly stopped: Promise<void>;
  private markStopped!: () => void;
  readonly ready: Promise<void>;

  /** `stdout` and `stderr`: the container's main process's, demultiplexed from `stream`. */
  constructor(
    readonly host: string,
    private readonly stream: Duplex,
    stdout: PassThrough,
    private readonly logFile: string,
  ) {
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
    this.ready = new Promise((resolve, reject) => {
      createInterface({ input: stdout })
        .on('line', (line) => {
          let msg: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string; ready?: true; p?: number; data?: string; exitCode?: number | null; signal?: string | null };
          try {
            msg = JSON.parse(line);
          } catch {
            return;
          }
          if (msg.ready) return resolve();
          const mine = typeof msg.id === 'number' ? msg.id < 0 : msg.event === 'proc.out' || msg.event === 'proc.exit';
          if (!mine) return void this.selfOut?.write(`${line}\n`);
          if (typeof msg.id === 'number') {
            const call = this.pending.get(msg.id);
            this.pending.delete(msg.id);
            if (msg.ok) call?.resolve(msg.result);
            else call?.reject(new LabRuntimeError(`the process runner of ${host}: ${msg.error}`, { fix: `read its log: ${logFile}` }));
          } else if (msg.event === 'proc.out') this.procs.get(msg.p!)?.stdout?.write(msg.data ?? '');
          else if (msg.event === 'proc.exit') this.procs.get(msg.p!)?.exit({ exitCode: msg.exitCode ?? undefined, signal: msg.signal ?? undefined });
        })
        .on('close', async () => {
          this.gone = `the container of ${host} has stopped (its process runner ended)`;
          const why = new LabRuntimeError(this.gone, { fix: `read its log: ${logFile}` });
          for (const call of this.pending.values()) call.reject(why);
          this.pending.clear();
          for (const proc of this.procs.values()) proc.exit({ exitCode: -1, signal: 'container stopped' });
          this.selfOut?.end();
          this.markStopped();
          const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(0, 12).join('\n');
          reject(new LabStartError(`the process runner of ${host} ended before it was ready`, { fix: 'its log is kept with the phase artifacts (logs/)', evidence: tail }));
        });
    });
    this.ready.catch(() => {}); // awaited by every call; a lab that never used this host must not fail on it
  }

  private async call<T>(cmd: string, args: unknown): Promise<T> {
    await this.ready;
    if (this.gone) throw new LabRuntimeError(this.gone, { fix: `read its log: ${this.logFile}` });
    const id = this.nextId--;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.stream.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  /** A call whose answer nobody waits for. */
  private send(cmd: string, args: unknown): void {
    this.call(cmd, args).catch(() => {});
  }

  /**
   * The runner as the host's role agent (root, piped), the first time it is asked for; then
   * undefined (a second agent is a process of its own). Ending its stdin or killing it does
   * nothing: it ends with its container, when the lab goes.
   */
  claimSelf(): HostProcess | undefined {
    if (this.claimed) return undefined;
    this.claimed = true;
    const stdout = new PassThrough();
    this.selfOut = stdout;
    void this.ready.then(() => stdout.write(`${JSON.stringify({ ready: true, pid: 0 })}\n`), () => stdout.end());
    let code: number | null = null;
    return {
      stdin: new Writable({ write: (chunk: Buffer, _enc, done) => void this.ready.then(() => this.stream.write(chunk), () => {}).then(() => done()) }),
      stdout,
      exited: this.stopped.then(() => ((code = -1), { exitCode: -1, signal: 'container stopped' })),
      exitCode: () => code,
      kill: () => {},
    };
  }

  exec(argv: string[], o: { uid?: number; input?: string } = {}): Promise<ExecResult> {
    return this.call<ExecResult>('proc.exec', { argv, uid: o.uid, input: o.input });
  }

  spawn(argv: string[], options: SpawnOptions = {}): HostProcess {
    const p = this.nextP++;
    let code: number | null = null;
    const stdout = options.pipes ? new PassThrough() : undefined;
    let resolveExit!: (r: { exitCode?: number; signal?: string }) => void;
    const exited = new Promise<{ exitCode?: number; signal?: string }>((resolve) => (resolveExit = resolve));
    this.procs.set(p, {
      stdout,
      exit: (r) => {
        this.procs.delete(p);
        code = r.exitCode ?? -1;
        stdout?.end();
        resolveExit(r);
      },
    });
    // Capabilities for a non-root process: setpriv (as root) sets them as ambient ones.
    const caps = options.capabilities ?? [];
    const asSetpriv = caps.length > 0 && options.uid !== undefined;
    const started = this.call('proc.spawn', {
      p,
      argv: asSetpriv ? [...setprivArgs(options.uid!, options.gid ?? options.uid!, caps), ...argv] : argv,
      uid: asSetpriv ? undefined : options.uid,
      gid: asSetpriv ? undefined : options.gid,
      env: options.env,
      logFile: options.logFile,
      pipes: options.pipes,
    });
    started.catch((err: Error) => this.procs.get(p)?.exit({ exitCode: -1, signal: err.message }));
    let stdin: Writable | null = options.pipes
      ? new Writable({
          // After the process has started; its reply is not awaited (the stream keeps the order).
          write: (chunk: Buffer, _enc, done) => void started.then(() => this.send('proc.input', { p, data: chunk.toString('utf8') }), () => {}).then(() => done()),
          final: (done) => void started.then(() => this.send('proc.input', { p, end: true }), () => {}).then(() => done()),
        })
      : null;
    return {
      stdin,
      stdout: stdout ?? null,
      exited,
      exitCode: () => code,
      kill: (signal = 'SIGTERM') => {
        if (code === null) void started.then(() => this.send('proc.kill', { p, signal }), () => {});
        stdin?.end();
        stdin = null;
      },
    };
  }
}
