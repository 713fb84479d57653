/**
 * The harness's side of a lab agent: starts it on a lab host, sends it commands and collects its
 * events, as JSON lines over the process's stdin/stdout. One agent per role per host; all of them
 * die with the lab.
 */
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { agentEntry } from '../agent/agent-bundle.js';
import type { AgentEvent, AgentMessage, AgentReply } from '../agent/protocol.js';
import type { Backend, HostProcess } from '../backends/backend.js';
import { LabRuntimeError, LabStartError } from '../errors.js';

export class AgentHandle {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners: Array<(e: AgentEvent) => void> = [];
  private exited = false;

  private constructor(
    readonly host: string,
    readonly role: string,
    private readonly process: HostProcess,
    private readonly logFile: string,
  ) {
    void process.exited.then((r) => {
      this.exited = true;
      const why = new LabRuntimeError(`agent ${role}@${host} exited (${r.signal ?? `code ${r.exitCode}`})`, { fix: `read its log: ${logFile}` });
      for (const p of this.pending.values()) p.reject(why);
      this.pending.clear();
    });
  }

  static async start(
    backend: Backend,
    host: string,
    role: string,
    options: { uid?: number; logFile: string; readyTimeoutMs?: number },
  ): Promise<AgentHandle> {
    const child = backend.spawn(host, [backend.nodePath, await agentEntry()], {
      uid: options.uid,
      pipes: true,
      logFile: options.logFile,
    });
    const handle = new AgentHandle(host, role, child, options.logFile);
    const messages = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LabStartError(`agent ${role}@${host} did not start within ${options.readyTimeoutMs ?? 10_000} ms`, { evidence: `log: ${options.logFile}` })),
        options.readyTimeoutMs ?? 10_000,
      );
      messages.on('line', (line) => {
        let msg: AgentMessage;
        try {
          msg = JSON.parse(line) as AgentMessage;
        } catch {
          return; // not ours: the agent writes its own logs to stderr
        }
        if ('ready' in msg) {
          clearTimeout(timer);
          resolve();
        } else handle.dispatch(msg);
      });
      void child.exited.then(async (r) => {
        clearTimeout(timer);
        const tail = (await readFile(options.logFile, 'utf8').catch(() => '')).split('\n').slice(0, 12).join('\n');
        reject(new LabStartError(`agent ${role}@${host} exited before it was ready (${r.signal ?? `code ${r.exitCode}`})`, { fix: 'the agent log is kept with the phase artifacts (logs/)', evidence: tail }));
      });
    });
    return handle;
  }

  private dispatch(msg: Exclude<AgentMessage, { ready: true }>): void {
    if ('id' in msg && typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (!p) return;
      const reply = msg as AgentReply;
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new LabRuntimeError(`agent ${this.role}@${this.host}: ${reply.error}`, { fix: `read its log: ${this.logFile}` }));
    } else if ('event' in msg) {
      for (const l of this.listeners) l(msg as AgentEvent);
    }
  }

  onEvent(listener: (e: AgentEvent) => void): void {
    this.listeners.push(listener);
  }

  call<T = unknown>(cmd: string, args: unknown = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited) return Promise.reject(new LabRuntimeError(`agent ${this.role}@${this.host} is not running`, { fix: `read its log: ${this.logFile}` }));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LabRuntimeError(`agent ${this.role}@${this.host}: "${cmd}" got no answer in ${timeoutMs} ms`, { fix: `read its log: ${this.logFile}` }));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.process.stdin!.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  /** Closing stdin ends the agent; a signal makes sure. */
  stop(): void {
    if (this.exited) return;
    this.process.stdin?.end();
    this.process.kill('SIGTERM');
  }
}
