// A docker lab's containers run their processes through an agent (the process runner) instead of
// `docker exec`. Here a real agent process stands in for a container's main process, on a pipe
// instead of the container's attached stdin/stdout: the same bundle, the same protocol.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEntry } from '../../src/agent/agent-bundle.js';
import { HostRunner } from '../../src/backends/docker/host-runner.js';

let dir: string;
let runner: HostRunner;
let stopRunner: () => void;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'efl-host-runner-'));
  const child = spawn(process.execPath, [await agentEntry()], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = new PassThrough();
  child.stdout.pipe(out);
  // The runner writes to the stream and reads the demultiplexed stdout (`out`), as from a container.
  runner = new HostRunner('test-host', Duplex.from({ writable: child.stdin, readable: new PassThrough() }), out, join(dir, 'runner.log'));
  stopRunner = () => child.stdin.end();
});

afterAll(async () => {
  stopRunner();
  await rm(dir, { recursive: true, force: true });
});

describe("a container's process runner", () => {
  it('runs a command to completion: its output, its input and its exit code; a missing binary is 127', async () => {
    expect(await runner.exec(['sh', '-c', 'cat; echo err >&2; exit 3'], { input: 'hello\n' })).toEqual({ stdout: 'hello\n', stderr: 'err\n', exitCode: 3 });
    expect((await runner.exec(['no-such-binary-here'])).exitCode).toBe(127);
  });

  it("runs a command as another uid, as docker exec's User did", async () => {
    // Root drops to the app's uid; anyone else can only be themselves.
    const uid = process.getuid?.() === 0 ? 1000 : process.getuid!();
    expect((await runner.exec(['id', '-u'], { uid })).stdout.trim()).toBe(String(uid));
  });

  it('starts a process with pipes: its stdout comes back, its stdin goes in, its end is reported', async () => {
    const p = runner.spawn(['sh', '-c', 'read line; echo "got $line"; exit 5'], { pipes: true });
    const lines = createInterface({ input: p.stdout! });
    const first = new Promise((resolve) => lines.once('line', resolve));
    p.stdin!.write('ping\n');
    expect(await first).toBe('got ping');
    expect(await p.exited).toMatchObject({ exitCode: 5 });
    expect(p.exitCode()).toBe(5);
  });

  it('starts a process logging to a file and kills it on request', async () => {
    const log = join(dir, 'sleeper.log');
    const p = runner.spawn(['sh', '-c', 'echo started; exec sleep 30'], { logFile: log });
    await new Promise((r) => setTimeout(r, 300));
    p.kill('SIGTERM');
    expect(await p.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(await readFile(log, 'utf8')).toBe('started\n');
  });

  it("is the host's role agent too: role calls and the runner's own calls share the stream without mixing", async () => {
    const self = runner.claimSelf()!;
    expect(runner.claimSelf(), 'a second root agent on the host is a process of its own').toBeUndefined();
    const replies = createInterface({ input: self.stdout! });
    const lines: unknown[] = [];
    replies.on('line', (l) => lines.push(JSON.parse(l)));
    self.stdin!.write(`${JSON.stringify({ id: 1, cmd: 'no-such-command', args: {} })}\n`);
    const [exec] = await Promise.all([runner.exec(['echo', 'runner']), new Promise((r) => setTimeout(r, 300))]);
    expect(exec.stdout).toBe('runner\n');
    expect(lines).toEqual([{ ready: true, pid: 0 }, { id: 1, ok: false, error: 'unknown agent command "no-such-command"' }]);
  });
});
