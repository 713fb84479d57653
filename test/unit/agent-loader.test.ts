// Agents start through the loader that gives V8 the bundle's code cache: the first agent saves
// the cache, and a cache V8 refuses (another node, a damaged file) costs speed, never the start.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentBundle, writeLoader } from '../../src/agent/agent-bundle.js';

/** One agent from start to its answer on one command; half a second later stdin closes and it exits (the cache is saved 0.2 s after the start). */
async function oneAgent(entry: string) {
  const child = execa(process.execPath, [entry], { reject: false, timeout: 10_000 });
  child.stdin.write(`${JSON.stringify({ id: 1, cmd: 'no-such-command', args: {} })}\n`);
  setTimeout(() => child.stdin.end(), 500);
  const r = await child;
  return r.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the agent loader', () => {
  it('starts the agent, saves the code cache, and starts it again from a damaged cache', async () => {
    // A copy of the bundle: the labs' own cache beside the real one is never touched.
    const dir = await mkdtemp(join(tmpdir(), 'efl-agent-loader-'));
    const bundle = join(dir, 'agent-test.cjs');
    await copyFile(await agentBundle(), bundle);
    const entry = await writeLoader(bundle);
    const cache = `${bundle}.v8cache`;
    const first = await oneAgent(entry);
    expect(first[0]).toMatchObject({ ready: true });
    expect(first[1]).toMatchObject({ id: 1, ok: false, error: 'unknown agent command "no-such-command"' });
    expect(existsSync(cache), 'the first agent saved the code cache').toBe(true);
    await writeFile(cache, 'not a V8 code cache');
    expect((await oneAgent(entry))[0]).toMatchObject({ ready: true });
    await rm(dir, { recursive: true, force: true });
  });
});
