/**
 * --app '<command>': the user's own client as the app in the pod, next to the lab's. It runs as
 * the app's uid (1000) behind the interception with the lab DNS as its resolver, from the start
 * of the phase to the end of its traffic; every line it prints goes to app-command.log and onto
 * the timeline (source "app-command"), so it is part of the evidence. It is stopped (SIGTERM,
 * then SIGKILL) when the phase's traffic ends: a command that loops forever is bounded by the phase.
 */
import { settleWithin } from '../util/time.js';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Backend, HostProcess } from '../backends/backend.js';
import { USER_APP_STARTED, type Timeline } from '../timeline/timeline.js';
import { UsageError } from '../errors.js';
import { APP_UID, POD } from '../topology/topology.js';

/** The Docker backend's way to run a command in another image inside the pod's network namespace. */
function imageSpawner(backend: Backend, image: string): (argv: string[]) => HostProcess {
  const docker = backend as Backend & { spawnInImage?: (image: string, argv: string[], o: { uid: number; gid: number }) => HostProcess };
  if (!docker.spawnInImage) throw new UsageError(`--app-image needs the docker backend; this lab runs on ${backend.kind}`, { fix: '--backend docker, or drop --app-image (--app runs your command in the pod itself)' });
  return (argv) => docker.spawnInImage!(image, argv, { uid: APP_UID, gid: APP_UID });
}

export class UserApp {
  private lines = 0;
  private last = '';

  private constructor(
    private readonly process: HostProcess,
    private readonly done: Promise<void>,
    readonly logFile: string,
  ) {}

  /** `image` (--app-image, Docker backend): the command runs in that image, in the pod's network namespace. */
  static async start(backend: Backend, command: string, timeline: Timeline, artifactsDir: string, image?: string): Promise<UserApp> {
    await mkdir(artifactsDir, { recursive: true });
    const logFile = join(artifactsDir, 'app-command.log');
    const log = createWriteStream(logFile);
    log.write(`# ${command}\n`);
    // The checks count the apps in the pod from this (each app keeps its own downstream connection).
    timeline.add(Date.now(), { kind: 'event', source: 'app-command', what: USER_APP_STARTED, detail: command });
    // Its own session, so stopping it stops everything it started (a loop's current curl too),
    // and nothing else: `kill 0` reaches only this process group.
    const script = `trap 'trap - TERM; kill 0' TERM; exec 2>&1; (${command}) & wait`;
    const inImage = image ? imageSpawner(backend, image) : undefined;
    // In an image the container's own init starts the command in a fresh session: no setsid needed (nor assumed present).
    const proc = inImage ? inImage(['sh', '-c', script]) : backend.spawn(POD.name, ['setsid', 'sh', '-c', script], { uid: APP_UID, gid: APP_UID, pipes: true });
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
    if (image) log.write(`# in image ${image}, sharing the pod's network namespace\n`);
    app = new UserApp(proc, done, logFile);
    proc.stdin?.end();
    return app;
  }

  /** Stops the command if it still runs; returns what it printed, in one line. */
  async stop(): Promise<string> {
    if (this.process.exitCode() === null) {
      this.process.kill('SIGTERM');
      await settleWithin(this.process.exited, 2000);
      if (this.process.exitCode() === null) this.process.kill('SIGKILL');
    }
    const { exitCode, signal } = await this.process.exited;
    await settleWithin(this.done, 1000);
    return `your app printed ${this.lines} line(s)${this.last ? `, the last: "${this.last.slice(0, 120)}"` : ''}; it ${signal ? `was stopped (${signal})` : `exited ${exitCode}`}; ${this.logFile}`;
  }
}
