// Bad input through the newer entry points (triage, matrix merge, --config): one clear error with
// the fix, exit 2, no stack trace, nothing started.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';

const run = (script: string, args: string[]) => execa('npx', ['tsx', `src/cli/${script}.ts`, ...args], { cwd: REPO_ROOT, reject: false });
const file = async (name: string, text: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'efl-cli-'));
  await writeFile(join(dir, name), text);
  return join(dir, name);
};
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('CLI input errors (triage, matrix merge, --config)', () => {
  it('triage of an empty file: exit 2, says how to get the log', async () => {
    const r = await run('lab', ['triage', await file('empty.log', '\n')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is empty: nothing to triage[\s\S]*kubectl logs/);
    noStackTrace(r.stderr);
  });

  it('triage of a config_dump given as the log: exit 2, points to --config-dump', async () => {
    const r = await run('lab', ['triage', await file('dump.json', '{\n  "configs": []\n}\n')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is a config_dump, not a log or a paste[\s\S]*--config-dump/);
  });

  it('triage of a binary file (a gzipped log): exit 2, says to zcat it', async () => {
    const r = await run('lab', ['triage', await file('pod.log.gz', '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x00\x01\x02\x03\x04\x05')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is binary[\s\S]*zcat/);
    noStackTrace(r.stderr);
  });

  it('triage --scenarios of a folder that does not exist, or an unknown --istio-version: exit 2', async () => {
    const paste = await file('paste.txt', 'upstream connect error or disconnect/reset before headers. reset reason: overflow\n');
    const dir = await run('lab', ['triage', paste, '--scenarios', '/nonexistent/incidents']);
    expect(dir.exitCode).toBe(2);
    expect(dir.stderr).toMatch(/--scenarios \/nonexistent\/incidents: no such folder/);
    const istio = await run('lab', ['triage', paste, '--istio-version', 'latest']);
    expect(istio.exitCode).toBe(2);
    expect(istio.stderr).toMatch(/is not an Istio version/);
    noStackTrace(istio.stderr + dir.stderr);
  });

  it('triage with --stats that are not counters, or --config-dump that is not a dump: exit 2, says how to get them', async () => {
    const log = await file('access.log', '[2024-05-02T08:14:03.112Z] "GET / HTTP/1.1" 503 UF - - "-" 0 91 2003 - "-" "curl" "x" "a:80" "198.18.7.21:80" PassthroughCluster 198.18.7.10:51234 198.18.7.21:80 198.18.7.10:40522 - allow_any\n');
    const stats = await run('lab', ['triage', log, '--stats', await file('stats.txt', 'hello world\n')]);
    expect(stats.exitCode).toBe(2);
    expect(stats.stderr).toMatch(/has no counters[\s\S]*localhost:15000\/stats/);
    noStackTrace(stats.stderr);
    const dump = await run('lab', ['triage', log, '--config-dump', await file('dump.json', '{"hello": 1}')]);
    expect(dump.exitCode).toBe(2);
    expect(dump.stderr).toMatch(/is not a config_dump[\s\S]*istioctl proxy-config all/);
    noStackTrace(dump.stderr);
  });

  it('triage without a log: exit 2', async () => {
    const r = await run('lab', ['triage']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/nothing to triage: no file given/);
  });

  it('matrix merge of a file that is not a matrix.json: exit 2, no TypeError', async () => {
    const r = await run('matrix', ['merge', await file('other.json', '{"hello": "world"}')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is not a matrix\.json: it has no "entries" and "versions" lists/);
    expect(r.stderr).not.toMatch(/TypeError/);
    noStackTrace(r.stderr);
  });

  it('matrix merge of a file that is not JSON: exit 2', async () => {
    const r = await run('matrix', ['merge', await file('junk.json', 'not json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is not a matrix\.json: not JSON/);
  });

  it('scenario --config with invalid YAML: exit 2 before any lab starts', async () => {
    const r = await run('scenario', ['sticky-503', '--phase', 'before', '--config', await file('bad.yaml', 'listeners: [unclosed\n')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--config .*bad\.yaml: .*not valid YAML/);
    expect(r.stderr).not.toMatch(/lab \w+ up on/);
    noStackTrace(r.stderr);
  });

  it('scenario with a scenario file that does not exist, or --scenarios of a missing or empty folder: exit 2', async () => {
    const missing = await run('scenario', ['./incidents/nope.ts']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/scenario file \.\/incidents\/nope\.ts does not exist/);
    noStackTrace(missing.stderr);
    const folder = await run('matrix', ['--scenarios', '/nonexistent-efl-folder']);
    expect(folder.exitCode).toBe(2);
    expect(folder.stderr).toMatch(/--scenarios \/nonexistent-efl-folder: no such folder/);
    const empty = await run('scenario', ['--scenarios', await mkdtemp(join(tmpdir(), 'efl-empty-')), '--list']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/has no scenario files/);
  });

  it('a scenario file whose id is one of the lab\'s own: exit 2, says how to reuse its configs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'efl-own-'));
    await writeFile(join(dir, 'package.json'), '{"type": "module"}');
    await writeFile(join(dir, 'sticky.ts'), `export { default } from '${REPO_ROOT}/scenarios/sticky-503.js';\n`);
    const r = await run('scenario', [join(dir, 'sticky.ts'), '--list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/scenario id "sticky-503" is already one of the lab's own scenarios[\s\S]*base: envoy-fault-lab:sticky-503/);
  });
});
