/**
 * --app '<command>': the user's own client as the app in the pod, next to the lab's. It runs as
 * the app's uid (1000) behind the interception with the lab DNS as its resolver, from the start
 * of the phase to the end of its traffic; every line it prints goes to app-command.log and onto
 * the timeline (source "app-command"), so it is part of the evidence. It is stopped (SIGTERM,
 * then SIGKILL) when the phase's traffic ends: a command that loops forever is bounded by the phase.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Backend, HostProcess } from '../backends/backend.js';
import type { Timeline } from '../timeline/timeline.js';
import { APP_UID, POD } from '../topology/topology.js';

export class UserApp {
  private lines = 0;
  private last = '';

  private constructor(
    private readonly process: HostProcess,
    private readonly done: Promise<void>,
    readonly logFile: string,
  ) {}

  static async start(backend: Backend, command: string, timeline: Timeline, artifactsDir: string): Promise<UserApp> {
    await mkdir(artifactsDir, { recursive: true });
    const logFile = join(artifactsDir, 'app-command.log');
    const log = createWriteStream(logFile);
    log.write(`# ${command}\n`);
    // Its own session, so stopping it stops everything it started (a loop's current curl too),
    // and nothing else: `kill 0` reaches only this process group.
    const script = `trap 'trap - TERM; kill 0' TERM; exec 2>&1; (${command}) & wait`;
    const proc = backend.spawn(POD.name, ['setsid', 'sh', '-c', script], { uid: APP_UID, gid: APP_UID, pipes: true });
    let app: UserApp | undefined;
    const done = new Promise<void>((resolve) => {
      const rl = createInterface({ input: proc.stdout! });
      rl.on('line', (line) => {
        log.write(`${line}\n`);
        timeline.add(Date.now(), { kind: 'event', source: 'app-command', what: 'app-command', detail: line });
        if (app) {
          app.lines++;
          app.last = line;
        }
      });
      rl.on('close', () => log.end(resolve));
    });
    app = new UserApp(proc, done, logFile);
    proc.stdin?.end();
    return app;
  }

  /** Stops the command if it still runs; returns what it printed, in one line. */
  async stop(): Promise<string> {
    if (this.process.exitCode() === null) {
      this.process.kill('SIGTERM');
      await Promise.race([this.process.exited, new Promise((r) => setTimeout(r, 2000))]);
      if (this.process.exitCode() === null) this.process.kill('SIGKILL');
    }
    const { exitCode, signal } = await this.process.exited;
    await Promise.race([this.done, new Promise((r) => setTimeout(r, 1000))]);
    return `your app printed ${this.lines} line(s)${this.last ? `, the last: "${this.last.slice(0, 120)}"` : ''}; it ${signal ? `was stopped (${signal})` : `exited ${exitCode}`}; ${this.logFile}`;
  }
}
